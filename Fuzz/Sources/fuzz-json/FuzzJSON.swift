import BackorderCore
import FuzzSupport
import Inbox

/// One change-file line through the JSON scanner and the record decoder: any bytes
/// must give a record or a rejection, never a trap, a hang or a leak.
@_cdecl("fuzz_json_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var fields = Fields()
    do throws(RecordError) {
        try LineCheck.validate(bytes)
        try JSONLineParser().parse(bytes, into: &fields)
        let record = try RecordDecoder().decode(fields)
        _ = record.typeName
    } catch {
        precondition(!error.reason.isEmpty, "a rejection always says why")
    }
    return 0
}
