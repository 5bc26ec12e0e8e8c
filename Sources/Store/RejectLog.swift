#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Foundation

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

    /// The last `limit` entries of the log, newest first, read from its last 64 KiB
    /// (a page shows them; the file itself can be any size).
    func tail(limit: Int) -> [RecentReject] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        let start = max(0, size - 65_536)
        var bytes = [UInt8](repeating: 0, count: Int(size - start))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard n > 0 else { return [] }
        var lines = bytes[..<n].split(separator: 0x0A)
        if start > 0, !lines.isEmpty { lines.removeFirst() }  // a partial first line
        var out: [RecentReject] = []
        for line in lines.reversed() {
            guard out.count < limit else { break }
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
            out.append(RecentReject(at: o["at"] as? String ?? "", file: o["file"] as? String ?? "", line: o["line"] as? Int ?? 0,
                                    reason: o["reason"] as? String ?? ""))
        }
        return out
    }

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
