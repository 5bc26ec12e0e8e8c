import BackorderCore
import Foundation
import Logging

/// Looks once a minute (and at start) for messages queued for endpoints the running
/// configuration no longer names, tells the operator, and after
/// `delivery.removed_endpoint_grace` makes them dead letters (`endpoint removed`), which
/// `dead-letters requeue --to ENDPOINT` moves to another endpoint. The decisions are
/// `RemovedEndpoints`'; this only reads the store and carries them out.
public final class RemovedEndpointService: @unchecked Sendable {
    private let store: any OutboxStore
    /// The endpoints configured now.
    private let configured: @Sendable () -> Set<String>
    private let grace: Span
    private let logger: Logger
    private let now: @Sendable () -> Instant
    private var state = RemovedEndpoints()
    private let lock = NSLock()  // a reload runs a pass beside the minute's
    private var last: [String: Int] = [:]
    public static let period: Duration = .seconds(60)

    /// The endpoints not in the configuration that had messages waiting at the last
    /// review, and how many (for the status page, which should not scan the queue).
    public var stranded: [String: Int] { lock.withLock { last } }

    public init(store: any OutboxStore, configured: @escaping @Sendable () -> Set<String>, grace: Span, logger: Logger,
                now: @escaping @Sendable () -> Instant) {
        self.store = store
        self.configured = configured
        self.grace = grace
        self.logger = logger
        self.now = now
    }

    /// One review. Endpoints are those of the rules the engine runs with (a reload changes them).
    public func pass() {
        lock.lock()
        defer { lock.unlock() }
        do {
            let configured = configured()
            let at = now()
            let stranded = try store.strandedMessages(configured: configured)
            last = stranded
            for action in state.review(stranded: stranded, now: at, grace: grace) {
                switch action {
                case .announce(let endpoint, let waiting, let deadAt):
                    logger.warning("endpoint_removed", metadata: [
                        "endpoint": "\(endpoint)", "waiting": "\(waiting)", "dead_at": "\(deadAt)",
                        "detail": "messages wait for an endpoint the configuration no longer names; put it back, or they become dead letters at dead_at (delivery.removed_endpoint_grace); backorderd dead-letters requeue --endpoint OLD --to NEW moves them",
                    ])
                case .deadLetter(let endpoint):
                    let n = try store.deadLetterRemoved(endpoint: endpoint, now: at)
                    if n > 0 {
                        logger.warning("dead_letter", metadata: ["endpoint": "\(endpoint)", "messages": "\(n)", "reason": "endpoint removed"])
                    }
                }
            }
        } catch {
            logger.error("store_error", metadata: ["action": "looking for messages of removed endpoints; retrying in a minute",
                                                   "error": "\(error)"])
        }
    }
}
