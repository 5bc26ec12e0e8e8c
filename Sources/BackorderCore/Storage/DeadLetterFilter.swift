/// Which dead letters a command acts on: by endpoint, by message type, made since a time.
public struct DeadLetterFilter: Sendable, Equatable {
    public var endpoint: String?
    public var type: String?
    public var since: Instant?

    public init(endpoint: String? = nil, type: String? = nil, since: Instant? = nil) {
        self.endpoint = endpoint
        self.type = type
        self.since = since
    }

    public var isEmpty: Bool { endpoint == nil && type == nil && since == nil }
}
