import BackorderCore

/// Byte-level checks every line passes before it is parsed: no NUL bytes, valid UTF-8.
public enum LineCheck {
    /// Throws the reason a line's bytes cannot be a record, or returns normally.
    public static func validate(_ line: UnsafeRawBufferPointer) throws(RecordError) {
        var i = 0
        let n = line.count
        while i < n {
            let c = line[i]
            if c < 0x80 {
                if c == 0 { throw RecordError("NUL byte at column \(i + 1)") }
                i += 1
                continue
            }
            let len: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: len = 2; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: len = 3; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: len = 4; scalar = UInt32(c & 0x07)
            default: throw RecordError("not UTF-8: invalid byte 0x\(hex(c)) at column \(i + 1)")
            }
            guard i + len <= n else { throw RecordError("not UTF-8: truncated sequence at column \(i + 1)") }
            for k in 1..<len {
                let cc = line[i + k]
                guard cc & 0xC0 == 0x80 else { throw RecordError("not UTF-8: invalid byte 0x\(hex(cc)) at column \(i + k + 1)") }
                scalar = scalar << 6 | UInt32(cc & 0x3F)
            }
            let minimum: UInt32 = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
                throw RecordError("not UTF-8: invalid sequence at column \(i + 1)")
            }
            i += len
        }
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
    }

    /// True when the line holds nothing but spaces, tabs and a carriage return.
    public static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        for c in line where c != 0x20 && c != 0x09 && c != 0x0D { return false }
        return true
    }
}
