import BackorderCore
import TestSupport
import Testing

/// A decision pass over one working set that holds everything (as the store guarantees).
struct Sim {
    var ws = WorkingSet()
    var decider: Decider
    static let t0 = Script.t0
    static let key = PositionKey(sku: "A", location: "store")

    init(_ policy: DecisionPolicy = DecisionPolicy(lowStockThreshold: 0)) {
        decider = Decider(policy: policy)
        ws = WorkingSet(calendar: policy.calendar)
    }

    /// The reasons of the records the decision pass refused, in order.
    var refused: [String] = []

    @discardableResult
    mutating func apply(_ r: Record, at: Instant = Sim.t0) -> [Event] {
        var events: [Event] = []
        do {
            try decider.apply(r, defaultAt: at, to: &ws, events: &events)
        } catch {
            refused.append(error.reason)
        }
        return events
    }

    @discardableResult
    mutating func tick(_ now: Instant) -> [Event] {
        var events: [Event] = []
        decider.tick(now: now, to: &ws, events: &events)
        return events
    }

    @discardableResult
    mutating func stock(_ v: Int64, _ key: PositionKey = Sim.key, at: Instant = Sim.t0) -> [Event] {
        apply(.stock(StockChange(key: key, kind: .onHand(v), at: at)))
    }

    @discardableResult
    mutating func delta(_ d: Int64, _ key: PositionKey = Sim.key, at: Instant = Sim.t0) -> [Event] {
        apply(.stock(StockChange(key: key, kind: .delta(d), at: at)))
    }

    @discardableResult
    mutating func order(_ order: String, line: String = "1", qty: Int64 = 1, ordered: Instant = Sim.t0,
                        promised: Instant = Sim.t0 + .days(5), key: PositionKey = Sim.key, at: Instant = Sim.t0) -> [Event] {
        apply(.backorder(BackorderLine(order: order, line: line, key: key, qty: qty, orderedAt: .instant(ordered), promisedAt: .instant(promised),
                                       customer: Customer(id: "C-\(order)"), at: at)))
    }

    @discardableResult
    mutating func restock(_ po: String, qty: Int64, expected: Instant, status: RestockChange.Status = .open,
                          key: PositionKey = Sim.key, at: Instant = Sim.t0) -> [Event] {
        apply(.restock(RestockChange(po: po, key: key, quantity: qty, expectedAt: .instant(expected), status: status, at: at)))
    }

    @discardableResult
    mutating func close(_ order: String, line: String? = nil, _ status: OrderClose.Status, at: Instant = Sim.t0) -> [Event] {
        apply(.order(OrderClose(order: order, line: line, status: status, at: at)))
    }

    func line(_ order: String, _ line: String = "1") -> OrderLine { ws.lines[LineKey(order: order, line: line)]! }
    func position(_ key: PositionKey = Sim.key) -> Position { ws.positions[key]! }
}

func lk(_ order: String, _ line: String = "1") -> LineKey { LineKey(order: order, line: line) }

@Suite struct AllocationTests {
    @Test func stockSetsAndChangesOnHand() {
        var s = Sim()
        s.stock(5)
        s.delta(-7)
        #expect(s.position().onHand == -2)
        #expect(s.position().available == -2)
    }

    @Test func netCountsAddOpenLinesBack() {
        var s = Sim(DecisionPolicy(stockCounts: .net))
        s.order("O-1", qty: 2)
        s.order("O-2", qty: 3)
        s.stock(0)  // the shop's salable count: nothing beyond what the two lines took
        #expect(s.position().onHand == 5)
        #expect(s.line("O-1").status == .ready)
        #expect(s.line("O-2").status == .ready)
    }

    @Test func firstComeFirstServed() {
        var s = Sim()
        s.order("O-2", ordered: Sim.t0 + .hours(2))
        s.order("O-1", qty: 2, ordered: Sim.t0 + .hours(1))
        #expect(s.stock(1).isEmpty, "fifo: the head needs 2, nobody passes it")
        #expect(s.line("O-2").status == .waiting)
        let ev = s.stock(3)
        #expect(ev == [.ready(lk("O-1"), at: Sim.t0), .ready(lk("O-2"), at: Sim.t0)])
        #expect(s.position().reserved == 3)
    }

    @Test func fillLetsLaterLinesUseWhatTheHeadCannot() {
        var s = Sim(DecisionPolicy(allocation: .fill, lowStockThreshold: 0))
        s.order("O-1", qty: 2, ordered: Sim.t0 + .hours(1))
        s.order("O-2", ordered: Sim.t0 + .hours(2))
        #expect(s.stock(1) == [.ready(lk("O-2"), at: Sim.t0)])
        #expect(s.line("O-1").status == .waiting)
    }

    @Test func equalTimestampsGoByOrderThenLine() {
        var s = Sim()
        s.order("O-B", line: "1")
        s.order("O-A", line: "2")
        s.order("O-A", line: "1")
        #expect(s.stock(2) == [.ready(lk("O-A", "1"), at: Sim.t0), .ready(lk("O-A", "2"), at: Sim.t0)])
    }

    @Test func cancellingAReadyLineReadiesTheNext() {
        var s = Sim()
        s.order("O-1", qty: 2, ordered: Sim.t0)
        s.order("O-2", qty: 2, ordered: Sim.t0 + .hours(1))
        s.stock(2)
        #expect(s.line("O-1").status == .ready)
        #expect(s.close("O-1", .cancelled) == [.ready(lk("O-2"), at: Sim.t0)])
        #expect(s.position().reserved == 2)
        #expect(s.position().onHand == 2)
    }

    @Test func fulfillingAReadyLineTakesItOffTheShelf() {
        var s = Sim()
        s.order("O-1", qty: 2)
        s.stock(5)
        s.close("O-1", line: "1", .fulfilled)
        #expect(s.position().onHand == 3)
        #expect(s.position().reserved == 0)
        #expect(s.line("O-1").status == .fulfilled)
    }

    @Test func aReadyLineStaysReadyWhenStockDrops() {
        var s = Sim()
        s.order("O-1", qty: 2)
        s.stock(2)
        s.delta(-5)
        #expect(s.line("O-1").status == .ready)
        #expect(s.position().available == -5)
        #expect(s.stock(10).isEmpty)
    }

    @Test func aStockCountGoingNegativeThroughDeltaReadiesNobody() {
        var s = Sim()
        s.order("O-1")
        s.delta(-3)
        #expect(s.line("O-1").status == .waiting)
        #expect(s.delta(3).isEmpty)
        #expect(s.delta(1) == [.ready(lk("O-1"), at: Sim.t0)])
    }

    @Test func aLateCopyOfAClosedLineChangesNothing() {
        var s = Sim()
        s.order("O-1")
        s.close("O-1", .cancelled)
        s.order("O-1")
        #expect(s.line("O-1").status == .cancelled)
        #expect(s.stock(5).isEmpty)
    }
}

@Suite struct ProjectionAndNoticeTests {
    let d1 = Sim.t0 + .days(1)
    let d5 = Sim.t0 + .days(5)

    @Test func restockQuantitiesAreSplitAcrossLinesInOrder() {
        var s = Sim()
        s.order("O-1", qty: 3, ordered: Sim.t0, promised: Sim.t0 + .days(30))
        s.order("O-2", qty: 3, ordered: Sim.t0 + .hours(1), promised: Sim.t0 + .days(30))
        s.restock("P2", qty: 5, expected: Sim.t0 + .days(9))
        s.restock("P1", qty: 4, expected: Sim.t0 + .days(5))
        #expect(s.line("O-1").projected == .instant(Sim.t0 + .days(5)))
        #expect(s.line("O-2").projected == .instant(Sim.t0 + .days(9)))
        s.restock("P2", qty: 1, expected: Sim.t0 + .days(9))
        #expect(s.line("O-2").projected == nil, "4 + 1 units cannot complete 3 + 3")
    }

    @Test func whatIsOnTheShelfCountsTowardsTheHeadLine() {
        var s = Sim()
        s.stock(1)
        s.order("O-1", qty: 2, promised: Sim.t0 + .days(30))
        s.restock("P1", qty: 1, expected: Sim.t0 + .days(4))
        #expect(s.line("O-1").projected == .instant(Sim.t0 + .days(4)))
    }

    @Test func aSlipIsToldOnceAndEachFurtherSlipAgain() {
        var s = Sim()
        s.order("O-1", promised: d5)
        let slip = Sim.t0 + .days(10)
        #expect(s.restock("P1", qty: 1, expected: slip) == [.delayed(lk("O-1"), to: .instant(slip), at: Sim.t0)])
        #expect(s.line("O-1").estimate == .instant(slip))
        #expect(s.restock("P1", qty: 1, expected: slip).isEmpty, "the same date again is no news")
        #expect(s.delta(0).isEmpty)
        let later = Sim.t0 + .days(12)
        #expect(s.restock("P1", qty: 1, expected: later) == [.delayed(lk("O-1"), to: .instant(later), at: Sim.t0)])
    }

    @Test func anEarlierProjectionIsNotADelay() {
        var s = Sim()
        s.order("O-1", promised: d5)
        #expect(s.restock("P1", qty: 1, expected: Sim.t0 + .days(3)).isEmpty)
        #expect(s.line("O-1").estimate == .instant(d5))
    }

    @Test func aNewPromiseResetsTheEstimate() {
        var s = Sim()
        s.order("O-1", promised: Sim.t0 + .days(20))
        s.restock("P1", qty: 1, expected: Sim.t0 + .days(10))
        // The shop promises an earlier date: the projection is now a delay against it.
        let ev = s.order("O-1", promised: d5)
        #expect(ev == [.delayed(lk("O-1"), to: .instant(Sim.t0 + .days(10)), at: Sim.t0)])
    }

    @Test func aPastProjectionCountsAsUnknown() {
        var s = Sim()
        let now = Sim.t0 + .days(3)
        s.order("O-1", promised: d5, at: now)
        s.restock("P1", qty: 1, expected: Sim.t0 + .days(1), at: now)
        #expect(s.line("O-1").projected == nil)
    }

    @Test func overdueOnceThenTheFirstDateThatAppearsIsADelay() {
        var s = Sim(DecisionPolicy(grace: .days(1), lowStockThreshold: 0))
        s.order("O-1", promised: d5)
        #expect(s.line("O-1").deadline == d5 + .days(1))
        #expect(s.tick(d5 + .hours(12)).isEmpty, "within grace")
        #expect(s.tick(d5 + .days(1)) == [.overdue(lk("O-1"), estimate: .instant(d5), at: d5 + .days(1))])
        #expect(s.line("O-1").estimate == nil)
        #expect(s.tick(d5 + .days(2)).isEmpty, "each slip is told once")
        let date = Sim.t0 + .days(9)
        #expect(s.restock("P1", qty: 1, expected: date, at: d5 + .days(2)) == [.delayed(lk("O-1"), to: .instant(date), at: d5 + .days(2))])
        #expect(s.tick(date + .days(1)) == [.overdue(lk("O-1"), estimate: .instant(date), at: date + .days(1))], "a late purchase order slips again")
    }

    @Test func longWaitIsOfferedOncePerLine() {
        var s = Sim(DecisionPolicy(longWait: .days(21), lowStockThreshold: 0))
        s.order("O-1", promised: Sim.t0 + .days(60))
        s.restock("P1", qty: 1, expected: Sim.t0 + .days(50))
        #expect(s.line("O-1").deadline == Sim.t0 + .days(21))
        #expect(s.tick(Sim.t0 + .days(21)) == [.longWait(lk("O-1"), at: Sim.t0 + .days(21))])
        #expect(s.tick(Sim.t0 + .days(30)).isEmpty)
        #expect(s.line("O-1").deadline == Sim.t0 + .days(60))
    }

    @Test func readyLinesHaveNoDeadline() {
        var s = Sim()
        s.order("O-1", promised: d1)
        s.stock(1)
        #expect(s.line("O-1").deadline == nil)
        #expect(s.tick(Sim.t0 + .days(40)).isEmpty)
    }
}

@Suite struct StaffAlertTests {
    func kinds(_ events: [Event]) -> [StaffAlert.Kind] {
        events.compactMap { if case .staff(let a) = $0 { a.kind } else { nil } }
    }

    @Test func armedOnlyOnceSeenAtOrAboveTheThreshold() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 5))
        #expect(kinds(s.stock(0)).isEmpty, "a first start on empty shelves alerts nobody")
        #expect(kinds(s.stock(10)).isEmpty)
        #expect(kinds(s.stock(3)) == [.low])
        #expect(kinds(s.stock(2)).isEmpty, "once per crossing")
        #expect(kinds(s.stock(4)).isEmpty, "flapping below the threshold")
        #expect(kinds(s.stock(0)) == [.out])
        #expect(kinds(s.stock(0)).isEmpty)
        #expect(kinds(s.stock(5)).isEmpty, "re-armed at the threshold")
        #expect(kinds(s.stock(0)) == [.out], "straight to out: one alert, the worse one")
    }

    @Test func oversoldWhenReservedExceedsOnHand() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 2))
        s.order("O-1", qty: 4)
        s.stock(10)
        let ev = s.stock(1)
        #expect(kinds(ev) == [.oversold])
        guard case .staff(let a) = ev[0] else { return }
        #expect(a.onHand == 1 && a.reserved == 4 && a.available == -3)
        #expect(a.sequence == 1)
    }

    @Test func alertsCarryWaitingQuantityAndTheNextRestock() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 3))
        s.stock(5)
        s.order("O-1", qty: 9)
        s.restock("P1", qty: 9, expected: Sim.t0 + .days(7))
        let ev = s.delta(-4)
        guard case .staff(let a) = ev.first else { Issue.record("no alert"); return }
        #expect(a.kind == .low)
        #expect(a.waitingQty == 9)
        #expect(a.nextRestockAt == .instant(Sim.t0 + .days(7)))
    }
}

@Suite struct GrouperTests {
    func notices(_ s: Sim, _ events: [Event], cancel: String? = "https://shop.example.com/o/{{order}}/cancel") -> [Notice] {
        Grouper(cancelLink: cancel).group(events, in: s.ws)
    }

    @Test func allLinesReadyMakeOneReadyMessage() {
        var s = Sim()
        s.order("O-1", line: "1")
        s.order("O-1", line: "2", qty: 2)
        let ev = s.stock(3)
        let n = notices(s, ev)
        #expect(n.map(\.type.rawValue) == ["backorder.ready"])
        #expect(n.first?.lineKeys == ["1", "2"])
        guard case .customer(let c) = n.first?.content else { Issue.record("no customer notice"); return }
        #expect(c.remaining.isEmpty)
        #expect(c.cancelURL == nil)
    }

    @Test func someLinesReadyMakeAPartiallyReadyMessageWithWhatRemains() {
        var s = Sim()
        s.order("O-1", line: "1")
        s.order("O-1", line: "2", key: PositionKey(sku: "B", location: "store"))
        let ev = s.stock(1)
        let n = notices(s, ev)
        #expect(n.map(\.type.rawValue) == ["backorder.partially_ready"])
        guard case .customer(let c) = n.first?.content else { Issue.record("no customer notice"); return }
        #expect(c.lines.map(\.line) == ["1"])
        #expect(c.remaining.map(\.line) == ["2"])
        #expect(c.cancelURL == "https://shop.example.com/o/O-1/cancel")
    }

    @Test func severalSlipsOfOneLineInOneBatchCollapse() {
        var s = Sim()
        s.order("O-1", promised: Sim.t0 + .days(2))
        var events = s.restock("P1", qty: 1, expected: Sim.t0 + .days(4))
        events += s.restock("P1", qty: 1, expected: Sim.t0 + .days(6))
        #expect(events.count == 2)
        let n = notices(s, events)
        #expect(n.count == 1)
        guard case .customer(let c) = n.first?.content else { Issue.record("no customer notice"); return }
        #expect(c.lines.first?.expectedAt == .instant(Sim.t0 + .days(6)))
    }

    @Test func aDelayForALineThatBecameReadyInTheSameBatchIsDropped() {
        var s = Sim()
        s.order("O-1", promised: Sim.t0 + .days(2))
        var events = s.restock("P1", qty: 1, expected: Sim.t0 + .days(4))
        events += s.stock(1)
        #expect(notices(s, events).map(\.type.rawValue) == ["backorder.ready"])
    }

    @Test func idsNameTheEventNotTheTime() {
        var s = Sim()
        s.order("O-1", promised: Sim.t0 + .days(2))
        let ea = s.restock("P1", qty: 1, expected: Sim.t0 + .days(4), at: Sim.t0)
        let a = notices(s, ea)
        var t = Sim()
        t.order("O-1", promised: Sim.t0 + .days(2))
        let eb = t.restock("P1", qty: 1, expected: Sim.t0 + .days(4), at: Sim.t0 + .hours(3))
        let b = notices(t, eb)
        #expect(a.count == 1 && b.count == 1)
        #expect(a.first?.idSeed == b.first?.idSeed)
        let ec = t.restock("P1", qty: 1, expected: Sim.t0 + .days(5))
        #expect(a.first?.idSeed != notices(t, ec).first?.idSeed)
    }

    @Test func cancelLinksPercentEncodeTheOrder() {
        var s = Sim()
        s.order("O 1/x", promised: Sim.t0 + .days(2))
        let ev = s.restock("P1", qty: 1, expected: Sim.t0 + .days(4))
        let n = notices(s, ev)
        guard case .customer(let c) = n.first?.content else { Issue.record("no customer notice"); return }
        #expect(c.cancelURL == "https://shop.example.com/o/O%201%2Fx/cancel")
    }

    @Test func staffAlertsAreOneMessageEach() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 5))
        s.stock(10)
        let ev = s.stock(0)
        let n = notices(s, ev)
        #expect(n.map(\.type.rawValue) == ["stock.out"])
        #expect(n.first?.orderKey == "stock:A@store")
        #expect(n.first?.idSeed == "stock.out|A|store|1")
    }
}
