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

/// An endpoint's circuit breaker: after `threshold` failures in a row it opens and
/// sends nothing; after a cool-down it lets one probe through; a success closes it,
/// a failure opens it again for twice as long (up to `maxCooldown`).
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    public private(set) var state: State = .closed
    public private(set) var failures = 0
    public private(set) var cooldown: Span
    public private(set) var openUntil: Instant?
    public let threshold: Int
    public let initialCooldown: Span
    public let maxCooldown: Span

    public init(threshold: Int = 5, initialCooldown: Span = .seconds(5), maxCooldown: Span = .minutes(5)) {
        self.threshold = threshold
        self.initialCooldown = initialCooldown
        self.maxCooldown = maxCooldown
        self.cooldown = initialCooldown
    }

    /// How many requests may start now: unlimited (nil) when closed, one probe when
    /// the cool-down is over, none while open.
    public mutating func allowance(now: Instant) -> Int? {
        switch state {
        case .closed: return nil
        case .halfOpen: return 0
        case .open:
            guard let until = openUntil, now >= until else { return 0 }
            state = .halfOpen
            return 1
        }
    }

    /// A probe was allowed but nothing was there to send: offer the probe again next time.
    public mutating func probeUnused(now: Instant) {
        guard state == .halfOpen else { return }
        state = .open
        openUntil = now
    }

    /// Records an attempt's health; returns the new state when it changed.
    @discardableResult
    public mutating func record(failure: Bool, now: Instant) -> State? {
        let before = state
        if failure {
            failures += 1
            switch state {
            case .closed where failures >= threshold:
                state = .open
                openUntil = now + cooldown
            case .halfOpen:
                cooldown = Span(milliseconds: min(cooldown.milliseconds * 2, maxCooldown.milliseconds))
                state = .open
                openUntil = now + cooldown
            default: break
            }
        } else {
            failures = 0
            if state != .closed {
                state = .closed
                cooldown = initialCooldown
                openUntil = nil
            }
        }
        return state == before ? nil : state
    }
}
