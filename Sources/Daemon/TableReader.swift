import BackorderCore
import Foundation
import TOMLKit

/// Walks one TOML table, typing each key, recording a problem for every key that is
/// wrong or unknown instead of stopping at the first.
struct TableReader {
    let table: TOMLTable?
    let prefix: String
    var problems: [ConfigProblem]
    private var used: Set<String> = []
    private var allowed: Set<String>? = nil

    init(table: TOMLTable?, prefix: String, problems: [ConfigProblem]) {
        self.table = table
        self.prefix = prefix
        self.problems = problems
    }

    mutating func problem(_ key: String, _ message: String) {
        problems.append(ConfigProblem(prefix + key, message))
    }

    mutating func merge(_ other: TableReader) {
        problems.append(contentsOf: other.problems)
    }

    mutating func allow(_ keys: [String]) { allowed = Set(keys) }

    /// A sub-table reader; a missing section reads as empty (every key takes its default).
    mutating func section(_ key: String) -> TableReader {
        used.insert(key)
        guard let v = table?[key] else { return TableReader(table: nil, prefix: prefix + key + ".", problems: []) }
        guard let t = v.table else {
            problem(key, "must be a table ([\(key)])")
            return TableReader(table: nil, prefix: prefix + key + ".", problems: [])
        }
        return TableReader(table: t, prefix: prefix + key + ".", problems: [])
    }

    mutating func take(_ key: String) -> (any TOMLValueConvertible)? {
        used.insert(key)
        return table?[key]
    }

    /// Reports keys nobody read: usually a typo.
    mutating func finish() {
        guard let table else { return }
        for key in table.keys where !used.contains(key) {
            if let allowed, allowed.contains(key) { continue }
            problem(key, "unknown key; check its spelling against config/backorderd.toml")
        }
    }

    mutating func string(_ key: String, required: Bool = false) -> String? {
        guard let v = take(key) else {
            if required { problem(key, "missing; it is required") }
            return nil
        }
        guard let s = v.string else {
            problem(key, "must be a string, got \(v.type)")
            return nil
        }
        if s.isEmpty, required { problem(key, "must not be empty") }
        return s
    }

    mutating func path(_ key: String, base: String, required: Bool) -> String? {
        guard let s = string(key, required: required), !s.isEmpty else { return nil }
        if s.hasPrefix("/") { return (s as NSString).standardizingPath }
        var anchor = base.isEmpty ? FileManager.default.currentDirectoryPath : base
        if !anchor.hasPrefix("/") { anchor = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(anchor) }
        return ((anchor as NSString).appendingPathComponent(s) as NSString).standardizingPath
    }

    /// A key's string value, without marking the key read.
    func peekString(_ key: String) -> String? { table?[key]?.string }

    mutating func stringArray(_ key: String, required: Bool = false) -> [String]? {
        guard let v = take(key) else {
            if required { problem(key, "missing; it is required") }
            return nil
        }
        guard let a = v.array else {
            problem(key, "must be a list of strings, got \(v.type)")
            return nil
        }
        var out: [String] = []
        for i in 0..<a.count {
            guard let s = a[i].string else {
                problem(key, "item \(i + 1) must be a string, got \(a[i].type)")
                return nil
            }
            out.append(s)
        }
        return out
    }

    mutating func bool(_ key: String, default d: Bool) -> Bool {
        guard let v = take(key) else { return d }
        guard let b = v.bool else {
            problem(key, "must be true or false, got \(v.type)")
            return d
        }
        return b
    }

    mutating func int(_ key: String, default d: Int, range: ClosedRange<Int>) -> Int {
        optionalInt(key, range: range) ?? d
    }

    /// A whole number in `range`, or nil when the key is absent (or wrong, with a problem).
    mutating func optionalInt(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let v = take(key) else { return nil }
        guard let i = v.int else {
            problem(key, "must be a whole number, got \(v.type)")
            return nil
        }
        guard range.contains(i) else {
            problem(key, "\(i) is out of range; use \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return i
    }

    mutating func span(_ key: String, default d: Span, min: Span) -> Span {
        optionalSpan(key, min: min) ?? d
    }

    /// A duration, or nil when the key is absent. `"off"` is a value only where `allowOff`
    /// says so (it then reads as nil too); everywhere else it is a problem.
    mutating func optionalSpan(_ key: String, min: Span, allowOff: Bool = false) -> Span? {
        guard let v = take(key) else { return nil }
        guard let s = v.string else {
            problem(key, "must be a duration string such as \"250ms\", \"5s\", \"10m\", \"6h\" or \"21d\", got \(v.type)")
            return nil
        }
        if s == "off" {
            if !allowOff { problem(key, "cannot be \"off\"; give a duration such as \"5s\", or remove the key for the default") }
            return nil
        }
        if s == "0", min == .zero { return .zero }
        guard let span = SpanSyntax.parse(s) else {
            problem(key, "'\(s)' is not a duration; write e.g. \"250ms\", \"5s\", \"10m\", \"6h\" or \"21d\"")
            return nil
        }
        guard span <= SpanSyntax.longest else {
            problem(key, "\(s) is too long; use at most \(SpanSyntax.longest) (100 years)")
            return nil
        }
        guard span >= min else {
            problem(key, "\(s) is too short; use at least \(min)")
            return nil
        }
        return span
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, default d: T) -> T where T.RawValue == String {
        guard let s = string(key) else { return d }
        guard let c = T(rawValue: s) else {
            problem(key, "'\(s)' is not allowed; use one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            return d
        }
        return c
    }
}
