#if canImport(Glibc)
import Glibc
#endif
import BackorderCore

/// Appends rejected lines to `rejected.jsonl`: one JSON object per line with the file,
/// line number, reason and the raw line (`raw`, with `raw_base64` too when the bytes
/// are not UTF-8).
final class RejectLog: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw StoreError.setup("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
    }

    deinit { close(fd) }

    func append(_ rejects: [Reject], at: Instant) throws {
        guard !rejects.isEmpty else { return }
        var out: [UInt8] = []
        for r in rejects {
            out += Array("{\"at\":\"\(at)\",\"file\":".utf8)
            JSONText.appendString(r.file, to: &out)
            out += Array(",\"line\":\(r.line),\"reason\":".utf8)
            JSONText.appendString(r.reason, to: &out)
            out += Array(",\"raw\":".utf8)
            if let text = String(validating: r.raw, as: UTF8.self) {
                JSONText.appendString(text, to: &out)
            } else {
                JSONText.appendString(String(decoding: r.raw, as: UTF8.self), to: &out)
                out += Array(",\"raw_base64\":\"".utf8)
                out += Array(Base64.encode(r.raw).utf8)
                out.append(0x22)
            }
            out += Array("}\n".utf8)
        }
        var written = 0
        while written < out.count {
            let n = out.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.setup("cannot append to \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
    }
}
