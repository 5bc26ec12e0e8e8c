/// A message that gave up, for `backorderd dead-letters list`.
public struct DeadLetter: Sendable, Equatable, Codable {
    public var webhookID: String
    public var endpoint: String
    public var type: String
    public var orderKey: String
    public var attempts: Int
    public var lastError: String?
    public var createdAt: Instant

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhook_id", endpoint, type, orderKey = "order", attempts, lastError = "last_error", createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(webhookID, forKey: .webhookID)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(type, forKey: .type)
        try c.encode(orderKey, forKey: .orderKey)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(RFC3339.format(createdAt), forKey: .createdAt)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        webhookID = try c.decode(String.self, forKey: .webhookID)
        endpoint = try c.decode(String.self, forKey: .endpoint)
        type = try c.decode(String.self, forKey: .type)
        orderKey = try c.decode(String.self, forKey: .orderKey)
        attempts = try c.decode(Int.self, forKey: .attempts)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        guard case .instant(let i)? = RFC3339.parse(try c.decode(String.self, forKey: .createdAt).utf8) else {
            throw DecodingError.dataCorruptedError(forKey: .createdAt, in: c, debugDescription: "not RFC 3339")
        }
        createdAt = i
    }

    public init(webhookID: String, endpoint: String, type: String, orderKey: String, attempts: Int, lastError: String?, createdAt: Instant) {
        self.webhookID = webhookID
        self.endpoint = endpoint
        self.type = type
        self.orderKey = orderKey
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
