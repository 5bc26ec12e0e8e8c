/// One thing wrong with a configuration: where, what, and what would be right.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The key path, e.g. `inbox.settle` or `endpoints[1].url`.
    public var key: String
    public var message: String

    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// A configuration that cannot be used, with every problem found in it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var problems: [ConfigProblem]

    public var description: String {
        var s = "configuration \(path) has \(problems.count) problem\(problems.count == 1 ? "" : "s"):"
        for p in problems { s += "\n  - \(p)" }
        return s
    }
}
