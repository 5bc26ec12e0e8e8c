import BackorderCore
@testable import Inbox
import Testing

/// Runs `body` over the bytes, keeping the typed error.
func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(RecordError) -> T) throws(RecordError) -> T {
    let result: Result<T, RecordError> = bytes.withUnsafeBytes { raw in
        do throws(RecordError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

@Suite struct JSONLineParserTests {
    func parse(_ s: String) throws(RecordError) -> Fields {
        var f = Fields()
        try withBytes(Array(s.utf8)) { (raw) throws(RecordError) in try JSONLineParser().parse(raw, into: &f) }
        return f
    }

    func reason(_ s: String) -> String? {
        do { _ = try parse(s); return nil } catch { return error.reason }
    }

    @Test func readsFlatAndNestedObjects() throws {
        let f = try parse(#" {"type":"backorder","qty":2,"neg":-7,"ok":true,"none":null,"customer":{"id":"C-9","name":"Ana"},"list":[1,[2],{"a":3}],"f":1.5e3} "#)
        #expect(f["type"] == .string("backorder"))
        #expect(f["qty"] == .integer(2))
        #expect(f["neg"] == .integer(-7))
        #expect(f["ok"] == .bool(true))
        #expect(f["none"] == .null)
        #expect(f["customer.id"] == .string("C-9"))
        #expect(f["customer.name"] == .string("Ana"))
        #expect(f["list"] == .other("an array"))
        #expect(f["f"] == .number(1500))
    }

    @Test func decodesEscapes() throws {
        let f = try parse(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#)
        #expect(f["s"] == .string("a\"b\\c/d\né😀"))
    }

    @Test func hugeIntegersAreNotTruncated() throws {
        let f = try parse(#"{"qty":99999999999999999999}"#)
        #expect(f["qty"] == .other("an integer too large for 64 bits"))
    }

    @Test(arguments: [
        ("", "empty line"),
        ("[1,2]", "not a JSON object"),
        ("\"text\"", "not a JSON object"),
        ("{", "unexpected end of line"),
        ("{\"a\":1", "unexpected end of line"),
        ("{\"a\" 1}", "expected ':'"),
        ("{\"a\":1,}", "expected a quoted key"),
        ("{a:1}", "expected a quoted key"),
        ("{\"a\":01}", "leading zero"),
        ("{\"a\":tru}", "invalid literal"),
        ("{\"a\":\"x}", "unterminated string"),
        ("{\"a\":\"\\x\"}", "invalid escape"),
        ("{\"a\":\"\\ud800\"}", "unpaired surrogate"),
        ("{\"a\":\"\\u0000\"}", "NUL"),
        ("{\"a\":\"tab\there\"}", "control character"),
        ("{\"a\":1} {\"b\":2}", "unexpected bytes after the object"),
        ("{\"a\":1.}", "invalid number"),
        ("{\"a\":-}", "invalid number"),
    ])
    func rejectsInvalidJSON(line: String, expected: String) {
        let r = reason(line)
        #expect(r?.contains(expected) == true, "got \(r ?? "no error")")
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40)
        #expect(reason(deep)?.contains("nesting deeper") == true)
    }
}

@Suite struct LineCheckTests {
    func check(_ bytes: [UInt8]) -> String? {
        do { try withBytes(bytes) { (raw) throws(RecordError) in try LineCheck.validate(raw) }; return nil } catch { return error.reason }
    }

    @Test func acceptsUTF8() {
        #expect(check(Array("plain ascii, é, 日本, 😀".utf8)) == nil)
    }

    @Test(arguments: [
        ([0x61, 0x00, 0x62] as [UInt8], "NUL byte at column 2"),
        ([0x61, 0xFF], "invalid byte 0xFF at column 2"),
        ([0xC3], "truncated"),
        ([0xC0, 0xAF], "invalid byte 0xC0"),
        ([0xE0, 0x80, 0xAF], "invalid sequence"),
        ([0xED, 0xA0, 0x80], "invalid sequence"),
        ([0xC3, 0x28], "invalid byte 0x28"),
    ])
    func rejects(bytes: [UInt8], expected: String) {
        let r = check(bytes)
        #expect(r?.contains(expected) == true, "got \(r ?? "no error")")
    }
}

@Suite struct CSVParserTests {
    func cells(_ s: String) throws(RecordError) -> [String] {
        try withBytes(Array(s.utf8)) { (raw) throws(RecordError) in try CSVParser().cells(raw) }
    }

    @Test func splitsQuotedCells() throws {
        #expect(try cells("a,b,c") == ["a", "b", "c"])
        #expect(try cells("a,,c\r") == ["a", "", "c"])
        #expect(try cells("\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"") == ["x, y", "say \"hi\"", "two\nlines"])
        #expect(try cells("") == [""])
    }

    @Test(arguments: [
        ("\"open", "unterminated quoted cell"),
        ("\"a\"b,c", "unexpected text after a closing quote"),
        ("ab\"c", "a quote inside an unquoted cell"),
    ])
    func rejectsBadQuoting(line: String, expected: String) {
        do throws(RecordError) {
            _ = try cells(line)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.reason.contains(expected))
        }
    }

    @Test func headerNeedsATypeColumn() {
        #expect(throws: RecordError.self) { try withBytes(Array("sku,on_hand".utf8)) { (raw) throws(RecordError) in try CSVParser().header(raw) } }
    }

    @Test func rowsNeedTheHeadersColumnCount() {
        var f = Fields()
        do throws(RecordError) {
            try withBytes(Array("stock,S".utf8)) { (raw) throws(RecordError) in try CSVParser().row(raw, header: ["type", "sku", "on_hand"], into: &f) }
            Issue.record("accepted a short row")
        } catch {
            #expect(error.reason == "CSV row has 2 columns, the header has 3")
        }
    }
}
