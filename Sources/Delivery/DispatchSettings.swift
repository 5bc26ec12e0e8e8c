import BackorderCore

/// The dispatcher's knobs (`[delivery]`).
public struct DispatchSettings: Sendable {
    public var concurrency: Int
    public var timeout: Span
    public var retry: RetryPolicy
    /// The zone for customers without one, for quiet hours.
    public var defaultTimeZone: String
    /// At most this many messages claimed for one endpoint in one turn of the loop.
    public var claimBatch = 256
    public var breakerThreshold = 5
    public var breakerCooldown: Span = .seconds(5)
    public var breakerMaxCooldown: Span = .minutes(5)

    public init(concurrency: Int, timeout: Span, retry: RetryPolicy, defaultTimeZone: String) {
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry
        self.defaultTimeZone = defaultTimeZone
    }
}
