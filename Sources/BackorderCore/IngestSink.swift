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
