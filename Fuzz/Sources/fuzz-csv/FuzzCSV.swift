import BackorderCore
import FuzzSupport
import Inbox

/// A CSV file's records: the first as the header, the rest as rows (split at line
/// breaks, as the reader frames them). Never a trap; every row the same width as the
/// header or a rejection.
@_cdecl("fuzz_csv_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCSV)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let parser = CSVParser()
    let decoder = RecordDecoder()
    var header: [String]? = nil
    var fields = Fields()
    var start = 0
    for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
        let record = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
        start = i + 1
        do throws(RecordError) {
            if let h = header {
                try parser.row(record, header: h, into: &fields)
                precondition(fields.count <= h.count)
                _ = try? decoder.decode(fields)
            } else {
                let h = try parser.header(record)
                precondition(h.contains("type"))
                header = h
            }
        } catch {
            precondition(!error.reason.isEmpty)
        }
    }
    return 0
}
