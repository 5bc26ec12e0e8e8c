import BackorderCore
import Dispatch

/// Writes checkpoints on a thread of its own, one at a time and in the order given, so
/// the decision pass decides the next batches while SQLite writes the last ones — on
/// the other core. At most one write is in flight: the next checkpoint first `join`s it.
///
/// It only runs the `write` it is given (the engine's, which hands the result to its `StateStore`).
final class CheckpointWriter: @unchecked Sendable {
    /// How the write in flight ended.
    enum Ending {
        /// Written: the rows (for `WorkingSet.committed`), and the messages if asked to keep them.
        case written(RowChanges, [Notice])
        /// Not written: all of it, to go again with the next one.
        case failed(Checkpoint, any Error)
    }

    private let queue = DispatchQueue(label: "backorderd.checkpoint")
    /// Touched only on `queue`.
    private var ending: Ending?

    /// Starts writing `checkpoint`. `keepNotices`: `join` hands back the messages
    /// written (otherwise they are let go as soon as the write is done).
    func submit(_ checkpoint: Checkpoint, keepNotices: Bool, write: @escaping @Sendable (Checkpoint) throws -> [Notice]) {
        queue.async {
            do {
                let notices = try write(checkpoint)
                self.ending = .written(checkpoint.rows.rowsOnly, keepNotices ? notices : [])
            } catch {
                self.ending = .failed(checkpoint, error)
            }
        }
    }

    /// Waits for the write in flight, if any, and hands over how it ended.
    func join() -> Ending? {
        queue.sync {
            defer { ending = nil }
            return ending
        }
    }
}
