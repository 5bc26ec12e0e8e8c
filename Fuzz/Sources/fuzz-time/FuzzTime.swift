import BackorderCore
import FuzzSupport

/// Timestamps, durations and quiet-hour windows as written in change files and the
/// configuration: parsed without a trap, and what parses prints back to itself.
@_cdecl("fuzz_time_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzTime)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTime(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if case .instant(let i)? = RFC3339.parse(bytes) {
        // Every instant prints as RFC 3339 that parses back to the same instant.
        let text = RFC3339.format(i)
        guard case .instant(let again)? = RFC3339.parse(Array(text.utf8)) else { preconditionFailure("\(text) does not parse") }
        precondition(again == i, "\(text): \(i) != \(again)")
    }
    if case .date(let y, let m, let d)? = RFC3339.parse(bytes) {
        // A date keeps its form through the stored integer and prints as itself.
        let day = Moment.day(CalendarDay(year: y, month: m, day: d))
        precondition(Moment(raw: day.raw) == day, "\(day) does not survive its stored form")
        precondition(RFC3339.parse(Array(day.description.utf8)) == .date(year: y, month: m, day: d))
    }
    if size >= 16 {
        // The date rules on any day and any zone offset: no trap, and a day never passes
        // before it starts.
        let n = bytes.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let o = bytes.dropFirst(8).prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let cal = DayCalendar(policyZone: "UTC", offset: { _, _ in o % 100_000 })
        let day = CalendarDay(number: n)
        let start = cal.start(of: day, in: 0)
        precondition(cal.passes(.day(day), in: 0) >= start || n == .max)
        _ = cal.passes(.day(day), after: Span(milliseconds: o), in: 0)
        _ = cal.after(.day(day), Span(milliseconds: o), in: 0)
        _ = cal.day(of: Instant(milliseconds: n), in: 0)
        _ = Moment(raw: n).description
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let span = SpanSyntax.parse(text), span.milliseconds >= 0, span <= SpanSyntax.longest {
        precondition(SpanSyntax.parse(SpanSyntax.format(span)) == span)
    }
    if let q = QuietHours.parse(text) {
        precondition(QuietHours.parse(q.description) == q)
        _ = q.contains(minuteOfDay: Int(size % 1440))
    }
    return 0
}
