import BackorderCore

/// Everything decided since the last checkpoint, before its messages are rendered: the
/// changed rows, the messages decided, each file's cursor and the refused lines — so the state file always holds a
/// state that matches its cursors. Taken out of the `EngineState` whole; the decision pass
/// goes on while a `CheckpointWriter` writes it.
struct Checkpoint: Sendable {
    var rows: RowChanges
    /// The messages an endpoint takes.
    var notices: [Notice]
    /// Messages decided per type, taken or not.
    var decided: [String: Int]
    var cursors: [FileID: (cursor: FileCursor, at: Instant)]
    var rejects: [Reject]
    /// Records decided since the checkpoint before.
    var records: Int
    /// The time the messages are queued at and the cursors and rejects carry.
    var now: Instant

    /// A write that failed goes again with the next: both in order, in one transaction.
    mutating func append(_ later: Checkpoint) {
        rows.append(later.rows)
        notices += later.notices
        decided.merge(later.decided, uniquingKeysWith: +)
        cursors.merge(later.cursors) { _, newer in newer }
        rejects += later.rejects
        records += later.records
        now = later.now
    }
}
