/// What one read of one change file produced: its records, its rejects, and the
/// cursor to store with them in the same transaction.
public struct IngestBatch: Sendable {
    public var cursor: FileCursor
    public var records: [LocatedRecord]
    public var rejects: [Reject]
    /// When the lines were read: the default `at` of records that carry none.
    public var readAt: Instant

    public init(cursor: FileCursor, records: [LocatedRecord] = [], rejects: [Reject] = [], readAt: Instant) {
        self.cursor = cursor
        self.records = records
        self.rejects = rejects
        self.readAt = readAt
    }

    public var lineCount: Int { records.count + rejects.count }
}

/// A record and the line it came from.
public struct LocatedRecord: Equatable, Sendable {
    public var line: Int64
    public var record: Record
    /// Where the file's cursor stands just after this record (offset, lines), so a batch
    /// can be committed in part; -1 when unknown.
    public var endOffset: Int64
    public var endLine: Int64

    public init(line: Int64, record: Record, endOffset: Int64 = -1, endLine: Int64 = -1) {
        self.line = line
        self.record = record
        self.endOffset = endOffset
        self.endLine = endLine
    }
}
