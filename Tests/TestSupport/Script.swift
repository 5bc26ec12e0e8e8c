import BackorderCore

/// Turns a list of small integers into a sequence of records and clock ticks, so
/// property tests can generate (and shrink) histories as plain integer arrays.
public enum Script {
    public enum Step: Equatable, Sendable {
        case record(Record)
        case tick(Instant)
    }

    public static let t0 = Instant(milliseconds: 1_796_083_200_000)  // 2026-12-01T00:00:00Z

    /// With `dates`, some promises and purchase order arrivals are calendar dates (the
    /// day the instant falls on in UTC), as shops mostly send them.
    public static func steps(_ codes: [Int], dates: Bool = false) -> [Step] {
        func moment(_ i: Instant, _ c: Int) -> Moment {
            guard dates, (c / 7) % 3 != 0 else { return .instant(i) }
            let ms = i.milliseconds
            return .day(CalendarDay(number: (ms >= 0 ? ms : ms - 86_399_999) / 86_400_000))
        }
        var out: [Step] = []
        for (i, c) in codes.enumerated() {
            let at = t0 + .hours(Int64(i) * 6)
            let key = PositionKey(sku: (c / 10) % 2 == 0 ? "A" : "B", location: "store")
            let order = "O-\((c / 20) % 6)"
            switch c % 12 {
            case 0, 1, 2:
                out.append(.record(.stock(StockChange(key: key, kind: .onHand(Int64((c / 10) % 7)), at: at))))
            case 3:
                out.append(.record(.stock(StockChange(key: key, kind: .delta(Int64((c / 10) % 7) - 3), at: at))))
            case 4:
                let status: RestockChange.Status = (c / 2400) % 5 == 0 ? .received : .open
                out.append(.record(.restock(RestockChange(po: "P\((c / 10) % 3)", key: key, quantity: Int64(1 + (c / 30) % 4),
                                                          expectedAt: moment(at + .days(Int64((c / 120) % 20) - 2), c),
                                                          status: status, at: at))))
            case 5, 6, 7:
                let o = (c / 20) % 6
                let ordered: Instant = t0 + .hours(Int64(o))
                let promised: Moment = moment(ordered + .days(Int64(2 + (c / 720) % 4)), c)
                out.append(.record(.backorder(BackorderLine(
                    order: order, line: "\((c / 120) % 2 + 1)", key: key, qty: Int64(1 + (c / 240) % 3), orderedAt: .instant(ordered),
                    promisedAt: promised,
                    customer: Customer(id: "C-\(o)", name: "Customer \(o)", email: "c\(o)@example.com"), at: at))))
            case 8:
                let status: OrderClose.Status = (c / 10) % 2 == 0 ? .fulfilled : .cancelled
                let line: String? = (c / 20) % 3 == 0 ? nil : "\((c / 120) % 2 + 1)"
                out.append(.record(.order(OrderClose(order: order, line: line, status: status, at: at))))
            case 9, 10:
                out.append(.tick(at + .days(Int64((c / 10) % 30))))
            default:
                out.append(.record(.stock(StockChange(key: key, kind: .delta(Int64((c / 10) % 5)), at: at))))
            }
        }
        return out
    }

    /// The change-file line for a record, as a producer would write it.
    public static func jsonLine(_ r: Record) -> String {
        func t(_ m: Moment) -> String { "\"\(m)\"" }
        func at(_ i: Instant?) -> String { i.map { ",\"at\":\(t(.instant($0)))" } ?? "" }
        switch r {
        case .stock(let s):
            switch s.kind {
            case .onHand(let v): return #"{"type":"stock","sku":"\#(s.key.sku)","location":"\#(s.key.location)","on_hand":\#(v)\#(at(s.at))}"#
            case .delta(let d): return #"{"type":"stock","sku":"\#(s.key.sku)","location":"\#(s.key.location)","delta":\#(d)\#(at(s.at))}"#
            }
        case .restock(let x):
            return #"{"type":"restock","po":"\#(x.po)","sku":"\#(x.key.sku)","location":"\#(x.key.location)","quantity":\#(x.quantity),"expected_at":\#(t(x.expectedAt)),"status":"\#(x.status.rawValue)"\#(at(x.at))}"#
        case .backorder(let b):
            return #"{"type":"backorder","order":"\#(b.order)","line":"\#(b.line)","sku":"\#(b.key.sku)","location":"\#(b.key.location)","qty":\#(b.qty),"ordered_at":\#(t(b.orderedAt)),"promised_at":\#(t(b.promisedAt)),"customer":{"id":"\#(b.customer.id)","name":"\#(b.customer.name ?? "")","email":"\#(b.customer.email ?? "")"}\#(at(b.at))}"#
        case .order(let o):
            let line = o.line.map { #","line":"\#($0)""# } ?? ""
            return #"{"type":"order","order":"\#(o.order)"\#(line),"status":"\#(o.status.rawValue)"\#(at(o.at))}"#
        }
    }
}
