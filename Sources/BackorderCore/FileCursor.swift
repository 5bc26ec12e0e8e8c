

/// A change file's identity: device and inode, so a rename keeps its place.
public struct FileID: Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public var description: String { "\(device):\(inode)" }
}

/// How far a change file has been applied.
///
/// `offset` is the byte just after the last applied line and `line` the number of
/// lines applied. `headHash` fingerprints the file's first `headLength` bytes so that a
/// new file that happens to reuse a deleted file's inode is read from the start.
public struct FileCursor: Equatable, Sendable {
    public var id: FileID
    public var name: String
    public var offset: Int64
    public var line: Int64
    public var headLength: Int
    public var headHash: UInt64

    public static let headLimit = 256

    public init(id: FileID, name: String, offset: Int64 = 0, line: Int64 = 0, headLength: Int = 0, headHash: UInt64 = FNV1a.offsetBasis) {
        self.id = id
        self.name = name
        self.offset = offset
        self.line = line
        self.headLength = headLength
        self.headHash = headHash
    }
}

/// 64-bit FNV-1a: a fast fingerprint (not a security hash).
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = offsetBasis
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
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

/// Where the inbox hands its batches: the store, in the daemon.
///
/// Calls are synchronous and come from the inbox's own thread; `apply` must commit the
/// batch's effects and its cursor together, or throw and commit nothing. It may commit
/// only a leading part of the batch (to keep a transaction small) and returns the cursor
/// it committed; the inbox reads on from there.
public protocol IngestSink: Sendable {
    func loadCursors() throws -> [FileCursor]
    func apply(_ batch: IngestBatch) throws -> IngestResult
    func forget(_ ids: [FileID]) throws
}

/// What a sink committed of a batch: the cursor it reached, how many records it
/// applied, and every line it refused up to there — those the reader could not parse
/// and those the decision pass turned down (a count out of bounds) — in line order.
public struct IngestResult: Sendable, Equatable {
    public var cursor: FileCursor
    public var applied: Int
    public var rejects: [Reject]

    public init(cursor: FileCursor, applied: Int, rejects: [Reject]) {
        self.cursor = cursor
        self.applied = applied
        self.rejects = rejects
    }
}
