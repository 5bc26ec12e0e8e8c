import BackorderCore
import Engine
import Logging
import Store

/// The daemon's pair for tests: an `Engine` deciding on a SQLite `Store`, opened on one
/// directory with one set of rules. Decisions go to the engine, reads to the store.
public final class DecidingStore: @unchecked Sendable {
    public let store: Store
    public let engine: Engine

    public init(directory: String, decider: Decider = Decider(), grouper: Grouper = Grouper(),
                renderer: any NoticeRenderer = PlainRenderer(), subscriptions: [Subscription] = [],
                checkpoints: CheckpointPolicy = CheckpointPolicy(), logger: Logger = Logger(label: "backorderd.test")) throws {
        store = try Store(directory: directory, calendar: decider.policy.calendar, logger: logger)
        engine = Engine(store: store, decider: decider, grouper: grouper, renderer: renderer, subscriptions: subscriptions,
                        checkpoints: checkpoints, logger: logger)
    }

    // The engine's side.
    public func apply(_ batch: IngestBatch) throws -> IngestResult { try engine.apply(batch) }
    public func ingest(_ batch: IngestBatch) throws -> IngestResult { try engine.ingest(batch) }
    @discardableResult
    public func applyBatch(_ batch: IngestBatch) throws -> (notices: [Notice], result: IngestResult) { try engine.applyBatch(batch) }
    @discardableResult
    public func tick(now: Instant) throws -> [Notice] { try engine.tick(now: now) }
    @discardableResult
    public func flush(now: Instant? = nil) throws -> [Notice] { try engine.flush(now: now) }
    public func waitForCheckpoint() { engine.waitForCheckpoint() }
    @discardableResult
    public func loadState() throws -> (positions: Int, lines: Int, restocks: Int) { try engine.loadState() }
    public func nextDeadline() throws -> Instant? { try engine.nextDeadline() }

    // The store's side.
    public func position(_ key: PositionKey) throws -> Position? { try store.position(key) }
    public func allPositions() throws -> [Position] { try store.allPositions() }
    public func allLines() throws -> [OrderLine] { try store.allLines() }
    public func allRestocks() throws -> [Restock] { try store.allRestocks() }
    public func cursors() throws -> [FileCursor] { try store.cursors() }
}
