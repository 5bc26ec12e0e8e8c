import Foundation
import Logging

/// Writes one logfmt line per log call, for a person tailing journald:
/// `level=info event=<message> key=value …`. journald adds the time and unit.
///
/// The line goes to stderr, or — when stderr is the journal — to journald's native
/// socket with a priority and one field per key (`LogDestination`, `JournalSink`).
/// Values under `email` and `phone` keys are masked; anything under a key naming a
/// secret, token or authorization is never printed.
public struct LogfmtHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let destination: LogDestination

    public init(label: String, level: Logger.Level = .info, output: @escaping @Sendable (String) -> Void = LogfmtHandler.stderr) {
        self.init(label: label, level: level, destination: .text(output))
    }

    public init(label: String, level: Logger.Level = .info, destination: LogDestination) {
        self.label = label
        self.logLevel = level
        self.destination = destination
    }

    /// One `write(2)` per line, so lines from several threads never interleave — or
    /// one per batch of whole lines, inside `batched` on the thread that logs them.
    public static let stderr: @Sendable (String) -> Void = { line in
        if let box = pthread_getspecific(batchKey) {
            Unmanaged<LineBatch>.fromOpaque(box).takeUnretainedValue().text += line
            return
        }
        write(line)
    }

    /// Runs `body` with the lines this thread logs to `stderr` held back, then writes
    /// them in one `write(2)`. For a loop that logs a line per message (the dispatcher
    /// settles dozens at once); a crash loses at most the lines of that one batch.
    public static func batched(_ body: () -> Void) { batched(body, write: write) }

    static func batched(_ body: () -> Void, write: (String) -> Void) {
        if pthread_getspecific(batchKey) != nil { return body() }  // already inside a batch
        let batch = LineBatch()
        let box = Unmanaged.passRetained(batch)
        pthread_setspecific(batchKey, box.toOpaque())
        body()
        pthread_setspecific(batchKey, nil)
        box.release()
        if !batch.text.isEmpty { write(batch.text) }
    }

    private final class LineBatch {
        var text = ""
        init() { text.reserveCapacity(16 * 1024) }
    }

    private static let batchKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static func write(_ text: String) {
        var s = text
        s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if errno == EINTR { continue } else { return } }
                off += n
            }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = ""
        line.reserveCapacity(256)
        line += "level="
        line += event.level.short
        line += " event="
        line += Self.quote(event.message.description)
        let merged: Logger.Metadata
        if metadata.isEmpty {
            merged = event.metadata ?? [:]
        } else {
            var m = metadata
            if let extra = event.metadata { m.merge(extra) { _, new in new } }
            merged = m
        }
        // Ranked and made text once, then sorted as plain values: sorting the metadata
        // values themselves (an indirect enum) and comparing keys as `String`s cost more
        // than the rest of the line.
        var fields: [(rank: Int, key: String, value: String)] = []
        fields.reserveCapacity(merged.count)
        for (key, value) in merged { fields.append((Self.rank(key), key, Self.safe(key: key, value: value.description))) }
        fields.sort { a, b in a.rank != b.rank ? a.rank < b.rank : a.key.utf8.lexicographicallyPrecedes(b.key.utf8) }
        for f in fields {
            line += " "
            line += f.key
            line += "="
            line += Self.quote(f.value)
        }
        line += "\n"
        switch destination {
        case .text(let output):
            output(line)
        case .prefixed(let output):
            output("<\(event.level.syslogPriority)>" + line)
        case .entries(let send):
            var pairs: [(key: String, value: String)] = [("event", event.message.description)]
            pairs.reserveCapacity(fields.count + 1)
            for f in fields { pairs.append((f.key, f.value)) }
            send(LogEntry(level: event.level, line: line, fields: pairs))
        }
    }

    /// Ids first (in a fixed order), then the rest alphabetically.
    static func rank(_ key: String) -> Int {
        switch key {
        case "order": 0
        case "sku": 1
        case "location": 2
        case "webhook_id": 3
        case "endpoint": 4
        case "type": 5
        case "file": 6
        default: 7
        }
    }

    /// Keys the daemon logs often that never carry secrets or contact details.
    static let plainKeys: Set<String> = ["order", "sku", "location", "webhook_id", "endpoint", "type", "file", "attempt",
                                         "ms", "status", "reason", "next", "lines", "endpoints", "detail", "error", "records",
                                         "rejected", "messages", "until", "failures", "probe_in", "action", "version"]

    static func safe(key: String, value: String) -> String {
        if plainKeys.contains(key) { return value }
        let k = key.lowercased()
        if k.contains("secret") || k.contains("token") || k.contains("authorization") || k.contains("password") {
            return "[redacted]"
        }
        if k.contains("email") { return Mask.email(value) }
        if k.contains("phone") { return Mask.phone(value) }
        return value
    }

    /// A logfmt value: bare when it is plain, else in double quotes. Every control or
    /// invisible formatting character is escaped (`\x1b`, `\n`, `\u202e`), so a value
    /// from a change file or a receiver cannot move a terminal's cursor, retitle it, or
    /// forge a log line.
    static func quote(_ s: String) -> String {
        // Fast path: plain ASCII with nothing to escape (ids, numbers, names) as it is.
        var bytes = s
        let plain = bytes.withUTF8 { buf in
            !buf.isEmpty && !buf.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\\") }
        }
        if plain { return s }
        var bare = !s.isEmpty
        for u in s.unicodeScalars {
            if u == " " || u == "\"" || u == "=" || u == "\\" || needsEscape(u) || !u.isASCII && !u.properties.isAlphabetic {
                bare = false
                break
            }
        }
        if bare { return s }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if needsEscape(u) {
                    out += u.value < 0x100 ? "\\x" + hex(u.value, width: 2) : "\\u" + hex(u.value, width: 4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// Control characters (C0, DEL, C1) and invisible format characters (bidi overrides,
    /// zero-width joiners, line and paragraph separators).
    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { return true }
        guard !u.isASCII else { return false }
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Masks customers' contact details for logs: `a***@example.com`, `+1******4567`.
public enum Mask {
    public static func email(_ s: String) -> String {
        guard let at = s.firstIndex(of: "@"), at > s.startIndex else { return s.isEmpty ? s : "***" }
        return String(s[s.startIndex]) + "***" + s[at...]
    }

    public static func phone(_ s: String) -> String {
        let chars = Array(s)
        guard chars.count > 6 else { return String(repeating: "*", count: chars.count) }
        let keepStart = chars.first == "+" ? 2 : 0
        let keepEnd = 4
        var out = ""
        for (i, c) in chars.enumerated() {
            out.append(i < keepStart || i >= chars.count - keepEnd ? c : "*")
        }
        return out
    }
}

extension Logger.Level {
    /// The syslog priority journald files the entry under (`journalctl -p`).
    public var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    var short: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }
}
