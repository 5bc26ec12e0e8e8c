@testable import BackorderCore
import PropertyBased
import TestSupport
import Testing

/// Settling only the lines appended to a long waiting list decides exactly what walking
/// the whole list decides: the same events, in the same order, and the same lines.
@Suite struct TailProjectionTests {
    static let key = PositionKey(sku: "LAUNCH", location: "store")

    /// A launch-shaped history: mostly new pre-orders on one SKU, with purchase orders,
    /// counts, cancellations, changed promises and clock passes mixed in.
    static func records(_ codes: [Int], dates: Bool, purchaseOrders: Bool = true) -> [Script.Step] {
        let t0 = Script.t0
        var out: [Script.Step] = []
        var orders = 0
        for (i, c) in codes.enumerated() {
            let at = t0 + .minutes(Int64(i) * 30)
            func when(_ days: Int) -> Moment {
                let i = t0 + .days(Int64(days))
                return dates && c % 2 == 0 ? .day(CalendarDay(number: i.milliseconds / 86_400_000)) : .instant(i + .hours(Int64(c % 24)))
            }
            switch c % 20 {
            case 0 where purchaseOrders || c % 200 == 0:
                out.append(.record(.restock(RestockChange(po: "P\(c / 20 % 4)", key: key, quantity: Int64(1 + c / 80 % 40),
                                                          expectedAt: when(3 + c / 7 % 25), at: at))))
            case 1:
                out.append(.record(.stock(StockChange(key: key, kind: .onHand(Int64(c / 20 % 5)), at: at))))
            case 2 where orders > 0:
                out.append(.record(.order(OrderClose(order: "O\(c / 20 % orders)", status: c % 3 == 0 ? .fulfilled : .cancelled, at: at))))
            case 3 where orders > 0:
                // A changed promise for an existing line (not at the end of the list).
                out.append(.record(.backorder(BackorderLine(order: "O\(c / 20 % orders)", line: "1", key: key, qty: 1,
                                                            orderedAt: .instant(t0 + .minutes(Int64(c / 20 % orders))),
                                                            promisedAt: when(2 + c / 3 % 10), customer: Customer(id: "C"), at: at))))
            case 4:
                out.append(.tick(at + .days(Int64(c / 20 % 12))))
            default:
                // Mostly in order; some written newest first, some anywhere; without
                // purchase orders, a launch at one instant whose ids do not sort as they
                // arrive ("O10" before "O9").
                let ordered = !purchaseOrders && c % 5 != 0 ? 0
                    : c % 7 == 0 ? -orders : (c % 11 == 0 ? c / 11 % (orders + 1) : orders)
                out.append(.record(.backorder(BackorderLine(order: "O\(orders)", line: "1", key: key, qty: Int64(1 + c % 3),
                                                            orderedAt: .instant(t0 + .minutes(Int64(ordered))),
                                                            promisedAt: when(2 + c / 5 % 10),
                                                            customer: Customer(id: "C", timezone: c % 3 == 0 ? "Pacific/Kiritimati" : nil),
                                                            at: at))))
                orders += 1
            }
        }
        return out
    }

    static func run(_ steps: [Script.Step], tailMinimum: Int, quickLinks: Bool = true) -> (events: [[Event]], lines: [LineKey: OrderLine], positions: [PositionKey: Position]) {
        var decider = Decider(policy: DecisionPolicy(grace: .hours(6), longWait: .days(9), lowStockThreshold: 2,
                                                     calendar: DayCalendar(policyZone: "UTC", offset: { zone, _ in zone == "Pacific/Kiritimati" ? 50_400 : 0 })))
        decider.tailMinimum = tailMinimum
        var ws = WorkingSet(calendar: decider.policy.calendar)
        ws.quickLinks = quickLinks
        var all: [[Event]] = []
        for step in steps {
            var events: [Event] = []
            switch step {
            case .record(let r): try? decider.apply(r, defaultAt: Script.t0, to: &ws, events: &events)
            case .tick(let now): decider.tick(now: now, to: &ws, events: &events)
            }
            all.append(events)
        }
        return (all, ws.lines.dictionary, ws.positions.dictionary)
    }

    @Test(arguments: [false, true])
    func appendingDecidesWhatAFullWalkDecides(dates: Bool) async {
        await propertyCheck(count: 150, input: Gen.int(in: 0...100_000).array(of: 40...400)) { codes in
            let steps = Self.records(codes, dates: dates)
            let walked = Self.run(steps, tailMinimum: .max, quickLinks: false)
            let appended = Self.run(steps, tailMinimum: 1)
            #expect(walked.events == appended.events)
            #expect(walked.lines == appended.lines)
            #expect(walked.positions == appended.positions)
        }
    }

    @Test func aQuietListDecidesWhatAFullWalkDecides() async {
        // Mostly no purchase order and little stock: lists that are quiet for long
        // stretches, lines put anywhere in them, then stock and the rare purchase order.
        await propertyCheck(count: 150, input: Gen.int(in: 0...100_000).array(of: 40...400)) { codes in
            let steps = Self.records(codes, dates: false, purchaseOrders: false)
            let walked = Self.run(steps, tailMinimum: .max, quickLinks: false)
            let quiet = Self.run(steps, tailMinimum: 1)
            #expect(walked.events == quiet.events)
            #expect(walked.lines == quiet.lines)
            #expect(walked.positions == quiet.positions)
        }
    }

    @Test func aLaunchWhoseIdsDoNotSortIsNotWalkedLineByLine() {
        // 20,000 pre-orders at one instant, ids "O0"…"O19999" (which do not sort as they
        // arrive), no stock and no purchase order: each joins the list without a walk;
        // then stock readies the first 100 in allocation order.
        let decider = Decider(policy: DecisionPolicy(lowStockThreshold: 0))
        var ws = WorkingSet()
        var events: [Event] = []
        for i in 0..<20_000 {
            try? decider.apply(.backorder(BackorderLine(order: "O\(i)", line: "1", key: Self.key, qty: 1,
                                                        orderedAt: .instant(Script.t0), promisedAt: .instant(Script.t0 + .days(40)),
                                                        customer: Customer(id: "C"))), defaultAt: Script.t0, to: &ws, events: &events)
        }
        let row = ws.positionRow(Self.key)!
        #expect(ws.positionRows[Int(row)].unsorted, "left unsorted: no line was walked into place")
        #expect(ws.position(Self.key)?.waitingLines == 20_000)
        try? decider.apply(.stock(StockChange(key: Self.key, kind: .onHand(100))), defaultAt: Script.t0, to: &ws, events: &events)
        let ready = ws.lines.values.filter { $0.status == .ready }.map(\.key.order).sorted()
        #expect(ready == (0..<20_000).map { "O\($0)" }.sorted().prefix(100).map { $0 })
    }

    @Test func aLaunchIsSettledAppendByAppend() {
        // 2,000 pre-orders behind a purchase order that covers them all: each settle looks
        // at the new line only (the tail is kept), and every line is projected.
        let decider = Decider(policy: DecisionPolicy(lowStockThreshold: 0))
        var ws = WorkingSet()
        var events: [Event] = []
        try? decider.apply(.restock(RestockChange(po: "P", key: Self.key, quantity: 1_000_000, expectedAt: .instant(Script.t0 + .days(30)))),
                           defaultAt: Script.t0, to: &ws, events: &events)
        for i in 0..<2_000 {
            try? decider.apply(.backorder(BackorderLine(order: "O\(i)", line: "1", key: Self.key, qty: 1,
                                                        orderedAt: .instant(Script.t0 + .seconds(Int64(i))), promisedAt: .instant(Script.t0 + .days(40)),
                                                        customer: Customer(id: "C"))), defaultAt: Script.t0, to: &ws, events: &events)
        }
        let row = ws.positionRow(Self.key)!
        #expect(ws.tail(row)?.count == 2_000)
        #expect(ws.tail(row)?.prefix == 2_000)
        #expect(ws.lines.values.allSatisfy { $0.projected == .instant(Script.t0 + .days(30)) })
    }
}
