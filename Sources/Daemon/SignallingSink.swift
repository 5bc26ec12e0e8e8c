import BackorderCore
import Delivery
import Store

/// Hands batches to the store, then wakes whoever waits for new state.
struct SignallingSink: IngestSink {
    let store: Store
    let signals: [WakeSignal]
    let metrics: DaemonMetrics

    func loadCursors() throws -> [FileCursor] { try store.loadCursors() }
    func forget(_ ids: [FileID]) throws { try store.forget(ids) }
    func apply(_ batch: IngestBatch) throws -> IngestResult {
        let (notices, result) = try store.applyBatch(batch)
        metrics.batch(records: result.applied, rejects: result.rejects.count)
        metrics.notices(notices)
        for s in signals { s.signal() }
        return result
    }
}
