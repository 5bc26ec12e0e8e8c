/// A queued webhook message, as the dispatcher claims it.
public struct OutboxMessage: Sendable, Equatable {
    public var rowID: Int64
    public var webhookID: String
    public var endpoint: String
    public var orderKey: String
    public var type: String
    public var body: [UInt8]
    /// Attempts made before this one.
    public var attempts: Int
    public var createdAt: Instant
    /// The customer's time zone (customer messages only), for quiet hours.
    public var zone: String?
    public var isCustomerMessage: Bool

    public init(rowID: Int64, webhookID: String, endpoint: String, orderKey: String, type: String, body: [UInt8],
                attempts: Int, createdAt: Instant, zone: String?, isCustomerMessage: Bool) {
        self.rowID = rowID
        self.webhookID = webhookID
        self.endpoint = endpoint
        self.orderKey = orderKey
        self.type = type
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
        self.zone = zone
        self.isCustomerMessage = isCustomerMessage
    }
}

/// What became of a claimed message.
public enum DeliveryUpdate: Sendable, Equatable {
    case delivered(rowID: Int64, at: Instant, status: Int)
    case retry(rowID: Int64, next: Instant, error: String)
    case dead(rowID: Int64, error: String)
    /// Not attempted (quiet hours): due again at `until`, attempts unchanged.
    case postpone(rowID: Int64, until: Instant)
}

/// The durable queue the dispatcher works from: the store's outbox.
///
/// `claim` hands out the oldest due message of each order whose earlier messages are
/// all finished, and leases them so no other worker takes them; `record` commits what
/// became of them in one transaction.
public protocol OutboxQueue: Sendable {
    func claim(endpoint: String, now: Instant, limit: Int, leaseUntil: Instant) throws -> [OutboxMessage]
    func record(_ updates: [DeliveryUpdate], endpointErrors: [String: String], now: Instant) throws
    /// Records outcomes and claims more in one transaction (one commit per cycle of the
    /// dispatcher instead of two). Returns the claimed messages per endpoint.
    func exchange(record updates: [DeliveryUpdate], endpointErrors: [String: String], claim: [(endpoint: String, limit: Int)],
                  now: Instant, leaseUntil: Instant) throws -> [String: [OutboxMessage]]
    /// The earliest time a pending message becomes due, if any.
    func nextDue() throws -> Instant?
    /// Returns messages left in flight by a process that stopped to the queue.
    func releaseInFlight() throws
    /// Returns messages whose lease ran out (their outcome was never recorded) to the
    /// queue; claims do not look at messages under way. Returns how many.
    func reclaimExpiredLeases(now: Instant) throws -> Int
}
