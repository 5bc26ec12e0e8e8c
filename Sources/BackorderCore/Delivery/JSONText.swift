/// Writes JSON text by hand where the bytes matter (stable bodies, fast logs).
public enum JSONText {
    /// Appends `s` as a JSON string literal, escaping what RFC 8259 requires.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { bytes in
            // Runs of bytes that need no escape go in at once (a message body is mostly those).
            var start = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                start = i + 1
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(0x6E)
                case 0x0D: out.append(0x5C); out.append(0x72)
                case 0x09: out.append(0x5C); out.append(0x74)
                default:
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
                }
            }
            if start < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
        }
        out.append(0x22)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func string(_ s: String) -> String {
        var out: [UInt8] = []
        appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648) with padding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let n = bytes.count
        return String(unsafeUninitializedCapacity: (n + 2) / 3 * 4) { out in
            alphabet.withUnsafeBufferPointer { abc in
                var o = 0
                var i = 0
                while i < n {
                    let a = UInt32(bytes[i])
                    let b = i + 1 < n ? UInt32(bytes[i + 1]) : 0
                    let c = i + 2 < n ? UInt32(bytes[i + 2]) : 0
                    let v = a << 16 | b << 8 | c
                    out[o] = abc[Int(v >> 18 & 63)]
                    out[o + 1] = abc[Int(v >> 12 & 63)]
                    out[o + 2] = i + 1 < n ? abc[Int(v >> 6 & 63)] : 0x3D
                    out[o + 3] = i + 2 < n ? abc[Int(v & 63)] : 0x3D
                    o += 4
                    i += 3
                }
                return o
            }
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }
}
