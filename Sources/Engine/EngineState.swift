import BackorderCore

/// The engine's decision state in memory, and what it decided since the last checkpoint.
///
/// The store holds the state as of the cursors of its last checkpoint; `state` is that plus
/// every batch decided since, whose rows (`state`'s dirty marks), messages (`notices`),
/// refused lines (`rejects`) and file positions (`cursors`) the next checkpoint writes
/// in one transaction. A crash loses only this difference, and re-reading the change
/// files from the stored cursors decides it again, the same way.
final class EngineState {
    var state = WorkingSet()
    /// Messages decided that an endpoint takes (the others are only counted).
    var notices: [Notice] = []
    /// Messages decided per type, taken or not: for the metrics.
    var decided: [String: Int] = [:]
    var rejects: [Reject] = []
    /// The latest decided cursor of each file since the last checkpoint.
    var cursors: [FileID: (cursor: FileCursor, at: Instant)] = [:]
    /// Records decided since the last checkpoint.
    var records = 0
    var lastCheckpoint = ContinuousClock.now

    /// A checkpoint whose write failed: it goes again with the next one.
    var failed: Checkpoint?

    /// Whether anything waits to be written.
    var isDirty: Bool {
        !notices.isEmpty || !decided.isEmpty || !rejects.isEmpty || !cursors.isEmpty || state.hasChanges || failed != nil
    }

    /// Takes everything decided since the last checkpoint (and a failed one before it),
    /// and starts over.
    func take(now: Instant) -> Checkpoint {
        var cp = Checkpoint(rows: state.takeChanges(), notices: notices, decided: decided, cursors: cursors, rejects: rejects,
                            records: records, now: now)
        if var earlier = failed {
            earlier.append(cp)
            cp = earlier
            failed = nil
        }
        notices.removeAll(keepingCapacity: notices.count <= 4_096)
        decided.removeAll(keepingCapacity: true)
        rejects.removeAll(keepingCapacity: true)
        cursors.removeAll(keepingCapacity: true)
        records = 0
        lastCheckpoint = .now
        return cp
    }
}
