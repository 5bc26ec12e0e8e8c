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
