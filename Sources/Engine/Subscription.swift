/// Which endpoints receive which event types.
public struct Subscription: Sendable, Equatable {
    public var endpoint: String
    public var events: Set<String>

    public init(endpoint: String, events: Set<String>) {
        self.endpoint = endpoint
        self.events = events
    }
}
