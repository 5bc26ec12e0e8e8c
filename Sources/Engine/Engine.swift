#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Logging

/// The decision engine: the state in memory, the rules, and what was decided since the
/// last checkpoint — written through a `StateStore` by the checkpoint policy.
///
/// The inbox hands it batches (`IngestSink`), the clock calls `tick`, support commands
/// `preview`. It decides record by record with the `Decider`, groups events into
/// notices, renders the messages endpoints take, and gives the backend rows, messages,
/// cursors and rejects to write in one transaction. It holds no SQL: the backend stores
/// what it is given.
public final class Engine: IngestSink, @unchecked Sendable {
    let store: any StateStore
    /// The state in memory (loaded on first use) and what was decided since the last checkpoint.
    let lock = Lock()
    var memory: EngineState?
    let checkpointPolicy: CheckpointPolicy
    /// Writes checkpoints beside the decision pass.
    let checkpointWriter = CheckpointWriter()
    /// The time, for writes that are not given one (a flush when the inbox goes idle).
    let clock: @Sendable () -> Instant
    let logger: Logger
    /// Called with the messages each checkpoint wrote, once they are visible to the
    /// dispatcher, and how many messages of each type were decided since the last one —
    /// those no endpoint takes included (set once, before ingest starts).
    public var onCheckpoint: (@Sendable (_ written: [Notice], _ decided: [String: Int]) -> Void)?
    /// How long one batch is decided before the rest is left for the next read
    /// (`Engine.decideBudget`; set once, before ingest starts — tests shorten it).
    public var decideBudget = Engine.decideBudget

    private let rulesLock = Lock()
    private var _rules: Rules
    /// The current rules; `update(rules:)` swaps them between batches.
    public var rules: Rules { rulesLock.withLock { _rules } }

    /// Applies a reloaded configuration's policy, templates and subscriptions.
    public func update(rules: Rules) {
        rulesLock.withLock { _rules = rules }
    }

    public convenience init(store: any StateStore, decider: Decider = Decider(), grouper: Grouper = Grouper(),
                            renderer: any NoticeRenderer = PlainRenderer(), subscriptions: [Subscription] = [],
                            checkpoints: CheckpointPolicy = CheckpointPolicy(), clock: @escaping @Sendable () -> Instant = { Instant.now() },
                            logger: Logger = Logger(label: "backorderd.engine")) {
        self.init(store: store, rules: Rules(decider: decider, grouper: grouper, renderer: renderer, subscriptions: subscriptions),
                  checkpoints: checkpoints, clock: clock, logger: logger)
    }

    /// An engine deciding with `rules` on the state `store` holds, writing checkpoints by `checkpoints`.
    public init(store: any StateStore, rules: Rules, checkpoints: CheckpointPolicy = CheckpointPolicy(),
                clock: @escaping @Sendable () -> Instant = { Instant.now() }, logger: Logger = Logger(label: "backorderd.engine")) {
        self.store = store
        self._rules = rules
        self.checkpointPolicy = checkpoints
        self.clock = clock
        self.logger = logger
    }

    // MARK: - IngestSink

    public func loadCursors() throws -> [FileCursor] { try store.loadCursors() }

    /// Decides a batch and writes it at once (the tests' and one-shot path; the daemon
    /// goes through `ingest`, which checkpoints by the policy).
    public func apply(_ batch: IngestBatch) throws -> IngestResult { try ingest(batch, force: true) }

    public func idle() throws { try flush() }

    public func forget(_ ids: [FileID]) throws { try store.forget(ids) }

    // MARK: - State

    /// Loads the decision state into memory now (the daemon does this at start, before
    /// it reads any file, so that READY covers it). Returns how many positions, open
    /// lines and open purchase orders it holds.
    @discardableResult
    public func loadState() throws -> (positions: Int, lines: Int, restocks: Int) {
        try lock.withLock { try loaded().state.counts }
    }

    /// When the clock must next run `tick`, if any line is waiting for a deadline.
    public func nextDeadline() throws -> Instant? {
        try lock.withLock { try loaded().state.nextDeadline() }
    }

    /// The state in memory, loaded from the last checkpoint on first use. Call holding `lock`.
    func loaded() throws -> EngineState {
        if let m = memory { return m }
        let m = EngineState()
        m.state = try readState(rules.decider)
        memory = m
        return m
    }

    /// The decision state as the last checkpoint holds it: every position, every open
    /// line and every open purchase order. Deadlines are worked out again, not trusted
    /// from the store: one written by an earlier release (or under another
    /// policy.timezone) may be early or late.
    func readState(_ decider: Decider) throws -> WorkingSet {
        try store.readWorkingSet(calendar: decider.policy.calendar) { line in
            if line.status == .waiting { line.deadline = decider.deadline(of: line) }
        }
    }
}
