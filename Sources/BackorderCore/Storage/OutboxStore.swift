/// The queue's side of the backend seam: what the dispatcher, the status page,
/// `/metrics`, retention and the support commands read and change. `Store` (SQLite) and
/// `PostgresStore` implement it. What a backend must guarantee — `docs/ARCHITECTURE.md`, "The backend
/// seam": a message is claimed by one worker at a time (a lease); per order and endpoint,
/// a message is never handed out while an earlier one is pending or in flight; what
/// `record` is given is committed in one transaction; the reads of the pages and the support
/// commands never hold up the daemon's writes.
public protocol OutboxStore: OutboxQueue {
    /// Remembers an endpoint's circuit breaker state, for the pages.
    func setBreaker(endpoint: String, state: String, at: Instant) throws

    // The pages and `status`.
    /// The state at one moment, for the page, `/metrics` and `status` (`StatusReport`).
    func report(endpoints configured: [String], positions limit: Int, scope: StatusReport.Scope) throws -> StatusReport
    func orderStory(_ order: String, endpoints: [String]) throws -> OrderStory?
    func message(_ webhookID: String) throws -> [MessageRecord]
    func searchOrders(_ text: String, endpoints configured: [String], limit: Int) throws -> [String]
    func recentRejects(limit: Int) -> [RecentReject]

    // Dead letters.
    func deadLetters(matching filter: DeadLetterFilter, newest: Int?) throws -> [DeadLetter]
    func countDeadLetters(matching filter: DeadLetterFilter) throws -> Int
    func requeueDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter, now: Instant, to: String?) throws -> [DeadLetter]
    func purgeDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter) throws -> [DeadLetter]

    // Endpoints removed from the configuration, and retention.
    /// Messages waiting (pending or in flight) per endpoint not in `configured`.
    func strandedMessages(configured: Set<String>) throws -> [String: Int]
    /// Makes the waiting messages of a removed endpoint dead letters; returns how many.
    func deadLetterRemoved(endpoint: String, now: Instant) throws -> Int
    /// Deletes up to `limit` delivered or superseded messages made before `before`.
    func pruneDelivered(before: Instant, limit: Int) throws -> Int
}

/// The defaults of the reads, in one place.
extension OutboxStore {
    /// The page's front: the ten positions with the most lines waiting.
    public func overview(endpoints configured: [String]) throws -> StatusReport {
        try report(endpoints: configured, positions: 10, scope: .indexed)
    }
    /// `backorderd status`: everything, fifty positions.
    public func status(endpoints configured: [String] = []) throws -> StatusReport {
        try report(endpoints: configured, positions: 50, scope: .full)
    }
    public func searchOrders(_ text: String, endpoints configured: [String]) throws -> [String] {
        try searchOrders(text, endpoints: configured, limit: 50)
    }
    public func recentRejects() -> [RecentReject] { recentRejects(limit: 10) }
    public func deadLetters(matching filter: DeadLetterFilter = DeadLetterFilter()) throws -> [DeadLetter] {
        try deadLetters(matching: filter, newest: nil)
    }
    public func requeueDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter = DeadLetterFilter(), now: Instant) throws
        -> [DeadLetter] {
        try requeueDeadLetters(ids, matching: filter, now: now, to: nil)
    }
    public func purgeDeadLetters(_ ids: [String]?) throws -> [DeadLetter] { try purgeDeadLetters(ids, matching: DeadLetterFilter()) }
}

/// A whole backend: both sides of the seam (`Store` on SQLite, `PostgresStore`).
public typealias Backend = StateStore & OutboxStore
