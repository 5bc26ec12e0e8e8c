import BackorderCore
import Logging

/// Prunes delivered and superseded messages older than `state.retain_delivered`, a few
/// hundred per transaction, once a minute; dead letters stay until a person acts. Keeps
/// the state file from growing without bound.
public final class RetentionService: @unchecked Sendable {
    private let store: any OutboxStore
    private let keep: Span
    private let logger: Logger
    private let now: @Sendable () -> Instant
    public static let period: Duration = .seconds(60)
    static let perTransaction = 500

    public init(store: any OutboxStore, keep: Span, logger: Logger, now: @escaping @Sendable () -> Instant) {
        self.store = store
        self.keep = keep
        self.logger = logger
        self.now = now
    }

    /// One pass: small transactions until nothing old is left.
    func pass() {
        let cut = now() + Span(milliseconds: -keep.milliseconds)
        var total = 0
        do {
            while !Task.isCancelled {
                let n = try store.pruneDelivered(before: cut, limit: Self.perTransaction)
                total += n
                if n < Self.perTransaction { break }
            }
        } catch {
            logger.error("store_error", metadata: ["action": "pruning delivered messages; retrying in a minute", "error": "\(error)"])
        }
        if total > 0 {
            logger.info("pruned", metadata: ["messages": "\(total)", "before": "\(cut)"])
        }
    }
}
