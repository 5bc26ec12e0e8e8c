import Foundation
import Logging

/// Where `LogfmtHandler` sends what it renders.
public enum LogDestination: Sendable {
    /// The logfmt line as it is (a terminal, a file, a container's log).
    case text(@Sendable (String) -> Void)
    /// The line behind its syslog priority, `<4>level=warning …`: stderr is the journal
    /// but its socket cannot be used, and journald reads the prefix (`SyslogLevelPrefix=`).
    case prefixed(@Sendable (String) -> Void)
    /// Whole entries, with their fields: journald's native protocol (`JournalSink`).
    case entries(@Sendable (LogEntry) -> Void)

    /// The socket journald listens on; `BACKORDERD_JOURNAL_SOCKET` overrides it (tests).
    public static let journalSocket = "/run/systemd/journal/socket"

    /// Picks the destination for this process: the journal's socket when stderr is the
    /// journal (systemd sets `JOURNAL_STREAM` to the `device:inode` of that stream, and
    /// it matches fd 2 only while nobody redirected it), else plain lines on stderr.
    public static func forProcess(environment: [String: String] = ProcessInfo.processInfo.environment) -> LogDestination {
        guard isJournal(stream: environment["JOURNAL_STREAM"], fd: 2) else { return .text(LogfmtHandler.stderr) }
        let path = environment["BACKORDERD_JOURNAL_SOCKET"] ?? journalSocket
        guard let sink = JournalSink(path: path) else { return .prefixed(LogfmtHandler.stderr) }
        return .entries(sink.send)
    }

    /// Whether `stream` (`JOURNAL_STREAM`, "DEVICE:INODE" in decimal) names the file `fd` is open on.
    public static func isJournal(stream: String?, fd: Int32) -> Bool {
        guard let stream, let colon = stream.firstIndex(of: ":"),
              let dev = UInt64(stream[..<colon]), let ino = UInt64(stream[stream.index(after: colon)...])
        else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }
}

/// One rendered log call: its level, the logfmt line (with its newline), and its fields
/// as the line shows them (masked, redacted), `event` first.
public struct LogEntry: Sendable {
    public var level: Logger.Level
    public var line: String
    public var fields: [(key: String, value: String)]
}
