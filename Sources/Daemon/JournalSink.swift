import BackorderCore
import CJournal
import Foundation
import Logging

/// Sends log entries to journald over its native protocol: one datagram per entry on
/// journald's Unix socket, or — for an entry too large for a datagram — a sealed memfd
/// passed over the socket, as systemd's own clients do.
///
/// Each entry carries `PRIORITY` (from the level), `SYSLOG_IDENTIFIER=backorderd`,
/// `MESSAGE` (the logfmt line a terminal would show) and one `BACKORDERD_<KEY>` field per
/// key of the line, values exactly as the line shows them (masked, redacted), so
/// `journalctl BACKORDERD_ORDER=O-1001` matches one order exactly. The prefix keeps the
/// names clear of journald's own (`MESSAGE`, `PRIORITY`, `CODE_*`, `_*`).
///
/// If the socket refuses an entry, that entry goes to stderr behind its `<N>` priority
/// and the daemon says once that it fell back.
public final class JournalSink: @unchecked Sendable {
    public static let identifier = "backorderd"
    /// Every key's journal field starts with this.
    public static let fieldPrefix = "BACKORDERD_"

    private let socket: Int32
    private let path: String
    private let lock = Lock()
    private var warned = false

    /// Opens a datagram socket for `path`; nil when the socket cannot be made or the
    /// path is not a socket that accepts datagrams.
    public init?(path: String) {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else {
            close(fd)
            return nil
        }
        socket = fd
        self.path = path
    }

    deinit { close(socket) }

    /// Sends one entry; on failure writes it to stderr instead (see the type's notes).
    public func send(_ entry: LogEntry) {
        let bytes = Self.serialize(entry)
        if let problem = deliver(bytes) { fallBack(entry, problem) }
    }

    /// Returns nil once journald has the entry, else what went wrong.
    private func deliver(_ bytes: [UInt8]) -> String? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return "socket path too long" }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let sent = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(socket, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), sa, length)
                }
            }
        }
        if sent >= 0 { return nil }
        let code = errno
        guard code == EMSGSIZE || code == ENOBUFS else { return String(cString: strerror(code)) }
        // Too large for one datagram: hand journald a sealed memfd holding the entry.
        let memfd = bytes.withUnsafeBytes { cjournal_sealed_memfd($0.baseAddress, $0.count) }
        guard memfd >= 0 else { return "memfd: " + String(cString: strerror(errno)) }
        defer { close(memfd) }
        guard cjournal_send_fd(socket, path, memfd) == 0 else { return "passing a memfd: " + String(cString: strerror(errno)) }
        return nil
    }

    private func fallBack(_ entry: LogEntry, _ problem: String) {
        let first = lock.withLock {
            defer { warned = true }
            return !warned
        }
        var text = ""
        if first {
            text += "<4>level=warning event=journal_fallback detail=" + LogfmtHandler.quote(
                "journald's socket \(path) refused an entry (\(problem)); such entries go to stderr") + "\n"
        }
        text += "<\(entry.level.syslogPriority)>" + entry.line
        LogfmtHandler.write(text)
    }

    /// The entry in journald's native format: `NAME=value\n` per field, or, for a value
    /// holding a newline (or any byte a plain field cannot), `NAME\n`, its length as a
    /// 64-bit little-endian integer, the bytes, `\n`.
    public static func serialize(_ entry: LogEntry) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entry.line.utf8.count * 2 + 64)
        append("PRIORITY", String(entry.level.syslogPriority), to: &out)
        append("SYSLOG_IDENTIFIER", identifier, to: &out)
        var message = entry.line
        if message.hasSuffix("\n") { message.removeLast() }
        append("MESSAGE", message, to: &out)
        for (key, value) in entry.fields {
            if key == "file", let (name, line) = fileAndLine(value) {
                append(fieldName("file"), name, to: &out)
                append(fieldName("line"), line, to: &out)
            } else {
                append(fieldName(key), value, to: &out)
            }
        }
        return out
    }

    /// `BACKORDERD_` and the key upper-cased, anything but A–Z, 0–9 and `_` made `_`,
    /// at most 64 characters (journald's limit).
    public static func fieldName(_ key: String) -> String {
        var name = fieldPrefix
        for b in key.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): name.unicodeScalars.append(Unicode.Scalar(b - 32))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): name.unicodeScalars.append(Unicode.Scalar(b))
            default: name += "_"
            }
        }
        return String(name.prefix(64))
    }

    /// A rejected line is logged as `file=NAME:LINE`; in the journal they are two fields.
    static func fileAndLine(_ value: String) -> (String, String)? {
        guard let colon = value.lastIndex(of: ":") else { return nil }
        let line = value[value.index(after: colon)...]
        guard !line.isEmpty, line.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), colon > value.startIndex else { return nil }
        return (String(value[..<colon]), String(line))
    }

    private static func append(_ name: String, _ value: String, to out: inout [UInt8]) {
        out += name.utf8
        if value.utf8.contains(0x0A) {
            out.append(0x0A)
            var n = UInt64(value.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { out += $0 }
            out += value.utf8
        } else {
            out.append(UInt8(ascii: "="))
            out += value.utf8
        }
        out.append(0x0A)
    }
}
