import BackorderCore

/// A strict, allocation-light JSON reader for one change-file line.
///
/// It accepts exactly one JSON object (RFC 8259) and flattens nested objects into
/// dotted names. Foundation's `JSONDecoder` spends most of its time building
/// intermediate containers; this scanner reads the bytes once and builds only the
/// strings a record keeps, which is what lets ingest reach hundreds of thousands of
/// lines a second (see `Benchmarks/`).
public struct JSONLineParser: Sendable {
    /// How deep objects and arrays may nest before a line is refused.
    public static let maxDepth = 16

    public init() {}

    /// Parses `line` (without its `\n`) into `fields`, which is cleared first.
    public func parse(_ line: UnsafeRawBufferPointer, into fields: inout Fields) throws(RecordError) {
        fields.removeAll()
        var s = Scanner(bytes: line)
        s.skipSpace()
        guard s.peek() == UInt8(ascii: "{") else {
            if s.atEnd { throw RecordError("empty line is not a JSON object") }
            throw RecordError("not a JSON object (a line must start with '{')")
        }
        try s.object(prefix: "", depth: 0, into: &fields)
        s.skipSpace()
        guard s.atEnd else { throw RecordError("invalid JSON: unexpected bytes after the object at column \(s.pos + 1)") }
    }
}

private struct Scanner {
    let bytes: UnsafeRawBufferPointer
    var pos = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { pos >= bytes.count }
    func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

    mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    func fail(_ what: String) -> RecordError {
        RecordError("invalid JSON: \(what) at column \(pos + 1)")
    }

    mutating func expect(_ c: UInt8, _ what: String) throws(RecordError) {
        guard peek() == c else { throw fail(atEnd ? "unexpected end of line, expected \(what)" : "expected \(what)") }
        pos += 1
    }

    mutating func object(prefix: String, depth: Int, into fields: inout Fields) throws(RecordError) {
        guard depth < JSONLineParser.maxDepth else { throw fail("nesting deeper than \(JSONLineParser.maxDepth)") }
        pos += 1  // {
        skipSpace()
        if peek() == UInt8(ascii: "}") { pos += 1; return }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else {
                throw fail(atEnd ? "unexpected end of line inside an object" : "expected a quoted key")
            }
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"), "':'")
            skipSpace()
            let name = prefix.isEmpty ? key : prefix + "." + key
            if peek() == UInt8(ascii: "{") {
                try object(prefix: name, depth: depth + 1, into: &fields)
            } else {
                let v = try value(depth: depth)
                fields.set(name, v)
            }
            skipSpace()
            guard let c = peek() else { throw fail("unexpected end of line inside an object") }
            pos += 1
            if c == UInt8(ascii: "}") { return }
            guard c == UInt8(ascii: ",") else { pos -= 1; throw fail("expected ',' or '}'") }
        }
    }

    mutating func value(depth: Int) throws(RecordError) -> FieldValue {
        guard let c = peek() else { throw fail("unexpected end of line, expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "["): try skipArray(depth: depth + 1); return .other("an array")
        case UInt8(ascii: "{"):
            var ignored = Fields()
            try object(prefix: "_", depth: depth + 1, into: &ignored)
            return .other("an object")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(c)))'")
        }
    }

    mutating func literal(_ word: StaticString) throws(RecordError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail("unexpected end of line") }
        let p = word.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { throw fail("invalid literal") }
        pos += n
    }

    mutating func skipArray(depth: Int) throws(RecordError) {
        guard depth < JSONLineParser.maxDepth else { throw fail("nesting deeper than \(JSONLineParser.maxDepth)") }
        pos += 1
        skipSpace()
        if peek() == UInt8(ascii: "]") { pos += 1; return }
        while true {
            skipSpace()
            _ = try value(depth: depth)
            skipSpace()
            guard let c = peek() else { throw fail("unexpected end of line inside an array") }
            pos += 1
            if c == UInt8(ascii: "]") { return }
            guard c == UInt8(ascii: ",") else { pos -= 1; throw fail("expected ',' or ']'") }
        }
    }

    mutating func number() throws(RecordError) -> FieldValue {
        let start = pos
        var negative = false
        if peek() == UInt8(ascii: "-") { negative = true; pos += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw fail("invalid number") }
        var value: Int64 = 0
        var overflow = false
        if first == 0x30 {
            pos += 1
            if let d = peek(), d >= 0x30, d <= 0x39 { throw fail("leading zero in number") }
        } else {
            while let d = peek(), d >= 0x30, d <= 0x39 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d - 0x30))
                overflow = overflow || o1 || o2
                value = a
                pos += 1
            }
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            var n = 0
            while let d = peek(), d >= 0x30, d <= 0x39 { pos += 1; n += 1 }
            guard n > 0 else { throw fail("invalid number") }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            var n = 0
            while let d = peek(), d >= 0x30, d <= 0x39 { pos += 1; n += 1 }
            guard n > 0 else { throw fail("invalid number") }
        }
        if isInteger {
            if overflow { return .other("an integer too large for 64 bits") }
            return .integer(negative ? -value : value)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        return .number(Double(text) ?? .nan)
    }

    /// Reads a JSON string; the caller has checked the opening quote.
    mutating func string() throws(RecordError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character inside a string") }
            pos += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character inside a string") }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard let e = peek() else { break }
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek() == UInt8(ascii: "\\"), pos + 1 < bytes.count, bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                if u.value == 0 { throw fail("NUL character (\\u0000) in a string") }
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                pos -= 1
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(RecordError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}
