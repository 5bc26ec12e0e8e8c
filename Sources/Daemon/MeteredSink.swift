import BackorderCore
import Delivery
import Store

/// Hands batches to the store, which decides them in memory and checkpoints by its
/// policy (and when the inbox goes idle), and counts what each applied and refused for
/// `/metrics`. (Whoever waits for new state is woken by `Store.onCheckpoint`.)
struct MeteredSink: IngestSink {
    let store: Store
    let metrics: DaemonMetrics

    func loadCursors() throws -> [FileCursor] { try store.loadCursors() }
    func forget(_ ids: [FileID]) throws { try store.forget(ids) }
    func apply(_ batch: IngestBatch) throws -> IngestResult {
        let result = try store.ingest(batch)
        metrics.batch(records: result.applied, rejects: result.rejects.count)
        return result
    }
    func idle() throws { try store.flush() }
}
