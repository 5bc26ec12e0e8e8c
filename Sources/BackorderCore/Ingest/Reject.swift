/// A line that could not be applied, kept with its reason for `rejected.jsonl`.
public struct Reject: Equatable, Sendable {
    public var file: String
    public var line: Int64
    public var reason: String
    /// The raw bytes (for a line over the size limit, only its beginning).
    public var raw: [UInt8]

    public init(file: String, line: Int64, reason: String, raw: [UInt8]) {
        self.file = file
        self.line = line
        self.reason = reason
        self.raw = raw
    }
}
