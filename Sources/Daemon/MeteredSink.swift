import BackorderCore
import Delivery
import Engine

/// Hands batches to the engine, which decides them in memory and checkpoints by its
/// policy (and when the inbox goes idle), and counts what each applied and refused for
/// `/metrics`. (Whoever waits for new state is woken by `Engine.onCheckpoint`.)
struct MeteredSink: IngestSink {
    let engine: Engine
    let metrics: DaemonMetrics

    func loadCursors() throws -> [FileCursor] { try engine.loadCursors() }
    func forget(_ ids: [FileID]) throws { try engine.forget(ids) }
    func apply(_ batch: IngestBatch) throws -> IngestResult {
        let result = try engine.ingest(batch)
        metrics.batch(records: result.applied, rejects: result.rejects.count)
        return result
    }
    func idle() throws { try engine.flush() }
}
