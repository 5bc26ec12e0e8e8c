import BackorderCore

/// The `[inbox]` settings the inbox needs, already validated by the configuration.
public struct InboxSettings: Sendable, Equatable {
    public var directory: String
    public var patterns: [String]
    public var settle: Span
    public var batchLines: Int
    /// A periodic scan for filesystems where inotify sees nothing; nil means off.
    public var pollInterval: Span?
    /// Whether to watch with inotify; off only to prove that polling alone finds changes.
    public var inotify = true

    public static let defaultPatterns = ["*.jsonl", "*.ndjson", "*.csv"]

    public init(directory: String, patterns: [String] = InboxSettings.defaultPatterns, settle: Span = .seconds(2),
                batchLines: Int = 10_000, pollInterval: Span? = nil) {
        self.directory = directory
        self.patterns = patterns
        self.settle = settle
        self.batchLines = batchLines
        self.pollInterval = pollInterval
    }

    /// Whether a name in the inbox is a change file: it matches a pattern and is not
    /// hidden, `*.tmp` or `*.part` (names producers write under before renaming).
    public func accepts(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") { return false }
        return patterns.contains { fnmatch($0, name, 0) == 0 }
    }
}

#if canImport(Glibc)
import Glibc
#endif
