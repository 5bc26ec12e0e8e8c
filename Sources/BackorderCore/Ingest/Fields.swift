/// A field value as a reader found it, before the record decoder types it.
///
/// JSON gives typed values; CSV gives every cell as `.text`, which the decoder converts
/// leniently (a CSV cell `"2"` is a valid quantity, a JSON string `"2"` is not).
public enum FieldValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    /// An array or a number too large for 64 bits: valid input, but never a field we read.
    case other(String)
    /// A CSV cell.
    case text(String)

    var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a number with a fraction"
        case .bool: "a boolean"
        case .null: "null"
        case .other(let what): what
        case .text: "text"
        }
    }
}

/// The flat fields of one record; nested objects are flattened to dotted names
/// (`customer.email`), exactly as CSV headers spell them.
///
/// A record has a dozen fields, searched fastest in a plain array; a line with
/// thousands of keys (legal JSON, and an attack on anything quadratic) switches to a
/// hash index past `indexAbove` names, so setting every field stays linear in the line.
public struct Fields: Sendable {
    public private(set) var names: [String] = []
    public private(set) var values: [FieldValue] = []
    private var index: [String: Int]? = nil
    static let indexAbove = 32

    public init() {
        names.reserveCapacity(16)
        values.reserveCapacity(16)
    }

    public init(_ pairs: [(String, FieldValue)]) {
        self.init()
        for (n, v) in pairs { set(n, v) }
    }

    /// Sets a field; a repeated name keeps the last value, as most JSON readers do.
    public mutating func set(_ name: String, _ value: FieldValue) {
        if let i = position(of: name) {
            values[i] = value
            return
        }
        names.append(name)
        values.append(value)
        if index != nil {
            index![name] = names.count - 1
        } else if names.count > Self.indexAbove {
            var built: [String: Int] = [:]
            built.reserveCapacity(names.count * 2)
            for (i, n) in names.enumerated() { built[n] = i }
            index = built
        }
    }

    public subscript(name: String) -> FieldValue? {
        position(of: name).map { values[$0] }
    }

    private func position(of name: String) -> Int? {
        if let index { return index[name] }
        return names.firstIndex(of: name)
    }

    public var count: Int { names.count }

    public mutating func removeAll() {
        names.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        index = nil
    }
}
