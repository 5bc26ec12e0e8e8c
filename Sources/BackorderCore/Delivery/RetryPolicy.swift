/// When to try a failed delivery again, and when to give up.
///
/// Exponential backoff with full jitter (a random delay between 0 and the capped
/// exponential), so receivers coming back from an outage are not hit by every retry
/// at once. A receiver's `Retry-After` wins, clamped to `maxBackoff`.
public struct RetryPolicy: Sendable, Equatable {
    public var initialBackoff: Span
    public var maxBackoff: Span
    public var maxAttempts: Int
    public var maxAge: Span

    public init(initialBackoff: Span, maxBackoff: Span, maxAttempts: Int, maxAge: Span) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
    }

    /// The capped exponential for the attempt that just failed (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Span {
        let shift = min(max(attempt - 1, 0), 40)
        let (v, overflow) = initialBackoff.milliseconds.multipliedReportingOverflow(by: Int64(1) << shift)
        return Span(milliseconds: overflow ? maxBackoff.milliseconds : min(v, maxBackoff.milliseconds))
    }

    /// The delay before the next attempt; `jitter` is a number in 0...1.
    public func delay(afterAttempt attempt: Int, retryAfter: Span?, jitter: Double) -> Span {
        if let ra = retryAfter { return Span(milliseconds: min(max(ra.milliseconds, 0), maxBackoff.milliseconds)) }
        let c = ceiling(afterAttempt: attempt)
        return Span(milliseconds: Int64((Double(c.milliseconds) * min(max(jitter, 0), 1)).rounded()))
    }

    /// Whether a message made at `created` that has had `attempts` attempts is dead at `now`,
    /// or would be by the time `next` comes.
    public func isExhausted(attempts: Int, created: Instant, next: Instant) -> Bool {
        attempts >= maxAttempts || next - created > maxAge
    }
}
