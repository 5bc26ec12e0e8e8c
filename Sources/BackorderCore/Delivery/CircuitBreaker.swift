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
