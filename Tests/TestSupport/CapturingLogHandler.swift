import Logging

/// A log handler that keeps `event key=value` lines for assertions.
public struct CapturingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    let lines: LogLines

    public init(_ lines: LogLines) { self.lines = lines }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { _, n in n } }
        let rest = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
        lines.append("level=\(event.level) event=\(event.message) \(rest)")
    }

    public static func logger(_ lines: LogLines) -> Logger {
        Logger(label: "test") { _ in CapturingLogHandler(lines) }
    }
}
