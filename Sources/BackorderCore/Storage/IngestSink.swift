/// Where the inbox hands its batches: the engine, in the daemon.
///
/// Calls are synchronous and come from the inbox's own thread. `apply` decides the
/// batch, or throws and decides nothing; it returns the cursor it reached, and the inbox
/// reads on from there. The sink makes decisions durable together with their cursors —
/// at once, or at its next checkpoint, and at the latest when `idle` is called — so that
/// after a crash the files are re-read from a cursor that matches the state.
public protocol IngestSink: Sendable {
    func loadCursors() throws -> [FileCursor]
    func apply(_ batch: IngestBatch) throws -> IngestResult
    func forget(_ ids: [FileID]) throws
    /// The inbox has nothing more to read for now (it caught up, or stops): whatever was
    /// decided must be made durable and visible.
    func idle() throws
}

extension IngestSink {
    public func idle() throws {}
}

/// What a sink decided of a batch: the cursor it reached, how many records it
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
