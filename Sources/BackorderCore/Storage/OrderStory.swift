/// An order as support staff need it: each line, and every message about it.
public struct OrderStory: Sendable, Equatable, Codable {
    public struct Line: Sendable, Equatable, Codable {
        public var line: String
        public var sku: String
        public var location: String
        public var qty: Int64
        public var status: String
        public var orderedAt: String
        public var promisedAt: String
        /// The date the customer was last given (nil once it passed and was told overdue).
        public var estimateAt: String?
        public var projectedAt: String?
        /// The purchase order whose arrival completes the line, when one is projected.
        public var waitsFor: String?
        public var readyAt: String?

        enum CodingKeys: String, CodingKey {
            case line, sku, location, qty, status, orderedAt = "ordered_at", promisedAt = "promised_at",
                 estimateAt = "estimate_at", projectedAt = "projected_at", waitsFor = "waits_for_po", readyAt = "ready_at"
        }

        public init(line: String, sku: String, location: String, qty: Int64, status: String, orderedAt: String, promisedAt: String, estimateAt: String?, projectedAt: String?, waitsFor: String?, readyAt: String?) {
            self.line = line
            self.sku = sku
            self.location = location
            self.qty = qty
            self.status = status
            self.orderedAt = orderedAt
            self.promisedAt = promisedAt
            self.estimateAt = estimateAt
            self.projectedAt = projectedAt
            self.waitsFor = waitsFor
            self.readyAt = readyAt
        }
    }

    public var order: String
    /// The customer the lines name (the first line's), for support; contact details are
    /// not encoded (`--json` shows none), a page shows them masked.
    public var customer: String?
    public var email: String?
    public var phone: String?
    public var lines: [Line]
    public var messages: [MessageRecord]

    enum CodingKeys: String, CodingKey { case order, customer, lines, messages }

    public init(order: String, customer: String?, email: String?, phone: String?, lines: [Line], messages: [MessageRecord]) {
        self.order = order
        self.customer = customer
        self.email = email
        self.phone = phone
        self.lines = lines
        self.messages = messages
    }
}

/// One queued message for one endpoint, as the outbox holds it.
public struct MessageRecord: Sendable, Equatable, Codable {
    public var webhookID: String
    public var type: String
    public var endpoint: String
    public var order: String
    public var state: String
    public var attempts: Int
    public var createdAt: String
    public var deliveredAt: String?
    /// The last failed attempt's reason and what the receiver or libcurl said.
    public var lastError: String?
    /// The body as sent (only in `message`).
    public var body: String?
    /// Every attempt, oldest first (only in `message`).
    public var history: [Attempt]?

    /// One delivery attempt: when, how it ended (`delivered`, `retry`, `dead`) and what the
    /// receiver or libcurl said.
    public struct Attempt: Sendable, Equatable, Codable {
        public var at: String
        public var outcome: String
        public var detail: String?

        public init(at: String, outcome: String, detail: String?) {
            self.at = at
            self.outcome = outcome
            self.detail = detail
        }
    }

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhook_id", type, endpoint, order, state, attempts, createdAt = "created_at",
             deliveredAt = "delivered_at", lastError = "last_error", body, history
    }

    public init(webhookID: String, type: String, endpoint: String, order: String, state: String, attempts: Int, createdAt: String, deliveredAt: String?,
                lastError: String?, body: String? = nil, history: [Attempt]? = nil) {
        self.webhookID = webhookID
        self.type = type
        self.endpoint = endpoint
        self.order = order
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.lastError = lastError
        self.body = body
        self.history = history
    }
}
