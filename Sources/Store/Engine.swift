import BackorderCore

/// The daemon's decision state in memory, and what it decided since the last checkpoint.
///
/// SQLite holds the state as of the cursors of its last checkpoint; `state` is that plus
/// every batch decided since, whose rows (`state`'s dirty marks), messages (`notices`),
/// refused lines (`rejects`) and file positions (`cursors`) the next checkpoint writes
/// in one transaction. A crash loses only this difference, and re-reading the change
/// files from the stored cursors decides it again, the same way.
final class Engine {
    var state = WorkingSet()
    var notices: [Notice] = []
    var rejects: [Reject] = []
    /// The latest decided cursor of each file since the last checkpoint.
    var cursors: [FileID: (cursor: FileCursor, at: Instant)] = [:]
    /// Records decided since the last checkpoint.
    var records = 0
    var lastCheckpoint = ContinuousClock.now

    /// Whether anything waits to be written.
    var isDirty: Bool {
        !notices.isEmpty || !rejects.isEmpty || !cursors.isEmpty || state.hasChanges
    }

    /// Forgets what a checkpoint wrote.
    func checkpointed() {
        state.evictClosed()
        state.forgetCustomers()
        state.clearDirty()
        notices.removeAll(keepingCapacity: true)
        rejects.removeAll(keepingCapacity: true)
        cursors.removeAll(keepingCapacity: true)
        records = 0
        lastCheckpoint = .now
    }
}
