import BackorderCore
import FuzzSupport

/// Arbitrary record streams through the decision core, eight bytes a step, with the
/// clock's pass mixed in. Never a trap (a refused record is fine), and after every step
/// the state holds together: each position's `reserved` is exactly the quantity of its
/// ready lines, counts stay within `QuantityLimit.position`, and each position's count
/// of waiting lines matches its waiting lines.
@_cdecl("fuzz_decider_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzDecider)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecider(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard size >= 1 else { return 0 }
    let policy = DecisionPolicy(allocation: bytes[0] & 1 == 0 ? .fifo : .fill, grace: .hours(Int64(bytes[0] >> 4)),
                                longWait: .days(3), lowStockThreshold: Int64(bytes[0] >> 1 & 7),
                                stockCounts: bytes[0] & 0x80 == 0 ? .onHand : .net,
                                calendar: DayCalendar(policyZone: "UTC", offset: { zone, _ in zone == "east" ? 50_400 : -39_600 }))
    let decider = Decider(policy: policy)
    var ws = WorkingSet(calendar: policy.calendar)
    var events: [Event] = []
    let t0 = Instant(seconds: 1_796_083_200)  // 2026-12-01
    var i = 1
    while i + 8 <= size {
        let b = Array(bytes[i..<(i + 8)])
        i += 8
        let key = PositionKey(sku: "S\(b[1] % 3)", location: "L")
        // Small quantities mostly; the bounds' edges sometimes.
        let magnitude: Int64 = switch b[4] % 8 {
        case 0: QuantityLimit.record
        case 1: QuantityLimit.record - Int64(b[2])
        default: Int64(b[2] % 12)
        }
        let positive = max(magnitude, 1)  // quantities of restocks and lines are at least 1
        let at = t0 + .hours(Int64(b[7]))
        // A calendar date or an instant, as the feed chooses.
        func when(_ days: Int64) -> Moment {
            let i = t0 + .days(days)
            return b[7] & 1 == 0 ? .day(CalendarDay(number: i.milliseconds / 86_400_000)) : .instant(i + .hours(Int64(b[2] % 24)))
        }
        let record: Record? = switch b[0] % 6 {
        case 0: .stock(StockChange(key: key, kind: .onHand(magnitude), at: at))
        case 1: .stock(StockChange(key: key, kind: .delta(b[3] & 1 == 0 ? magnitude : -magnitude), at: at))
        case 2: .restock(RestockChange(po: "P\(b[5] % 3)", key: key, quantity: positive,
                                                       expectedAt: when(Int64(b[6] % 20)),
                                                       status: [.open, .open, .received, .cancelled][Int(b[3] % 4)], at: at))
        case 3: .backorder(BackorderLine(order: "O\(b[5] % 5)", line: "\(b[6] % 3)", key: key, qty: positive,
                                                         orderedAt: when(-Int64(b[3] % 10)), promisedAt: when(Int64(b[6] % 9)),
                                                         customer: Customer(id: "C", timezone: [nil, "east", "west"][Int(b[4] % 3)]), at: at))
        case 4: .order(OrderClose(order: "O\(b[5] % 5)", line: b[6] % 4 == 3 ? nil : "\(b[6] % 3)",
                                  status: b[3] & 1 == 0 ? .fulfilled : .cancelled, at: at))
        default: nil
        }
        if let record {
            try? decider.apply(record, defaultAt: at, to: &ws, events: &events)
        } else {
            decider.tick(now: at + .days(Int64(b[6] % 30)), to: &ws, events: &events)
        }
        check(ws)
        if events.count > 4096 { events.removeAll(keepingCapacity: true) }
    }
    return 0
}

func check(_ ws: WorkingSet) {
    var ready: [PositionKey: Int64] = [:]
    var waiting: [PositionKey: Int64] = [:]
    for line in ws.lines.values {
        switch line.status {
        case .ready: ready[line.position, default: 0] += line.qty
        case .waiting: waiting[line.position, default: 0] += 1
        default: break
        }
    }
    for (key, p) in ws.positions {
        precondition(p.reserved == ready[key, default: 0], "\(key): reserved \(p.reserved) but ready lines hold \(ready[key, default: 0])")
        precondition(p.reserved >= 0 && p.reserved <= QuantityLimit.position, "\(key): reserved \(p.reserved)")
        precondition(abs(p.onHand) <= QuantityLimit.position, "\(key): on hand \(p.onHand)")
        precondition(p.waitingLines == waiting[key, default: 0], "\(key): \(p.waitingLines) waiting counted, \(waiting[key, default: 0]) waiting")
    }
    for key in ready.keys { precondition(ws.positions[key] != nil, "ready lines at \(key), which has no position") }
}
