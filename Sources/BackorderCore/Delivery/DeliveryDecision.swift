/// What becomes of a message after an attempt: delivered, tried again at a time, or
/// given up on. A pure function of the attempt's outcome, the message's history, the
/// time and the retry policy — the dispatcher's loop only executes the answer.
public enum DeliveryDecision {
    /// Why a message was given up on.
    public enum Death: Equatable, Sendable {
        /// The receiver refused it (3xx, most 4xx, a bad URL).
        case refused(reason: String)
        /// A retryable failure, but the message is out of attempts or past its age.
        case exhausted(reason: String, attempts: Int)
    }

    /// The decision, with the update to record for the message.
    public enum Action: Equatable, Sendable {
        case delivered(DeliveryUpdate)
        case retry(DeliveryUpdate, reason: String, next: Instant)
        case dead(DeliveryUpdate, Death)

        public var update: DeliveryUpdate {
            switch self {
            case .delivered(let u), .retry(let u, _, _), .dead(let u, _): u
            }
        }
    }

    /// Decides for one attempt. `attempt` is this attempt's number (1 for the first);
    /// `error` is the text recorded as the message's last error; `jitter` is in 0...1.
    public static func decide(_ outcome: Outcome, rowID: Int64, attempt: Int, createdAt: Instant, now: Instant,
                              policy: RetryPolicy, jitter: Double, error: String) -> Action {
        switch outcome {
        case .delivered(let status):
            return .delivered(.delivered(rowID: rowID, at: now, status: status))
        case .retry(let reason, let after):
            let next = now + policy.delay(afterAttempt: attempt, retryAfter: after, jitter: jitter)
            if policy.isExhausted(attempts: attempt, created: createdAt, next: next) {
                return .dead(.dead(rowID: rowID, error: error), .exhausted(reason: reason, attempts: attempt))
            }
            return .retry(.retry(rowID: rowID, next: next, error: error), reason: reason, next: next)
        case .permanent(let reason):
            return .dead(.dead(rowID: rowID, error: error), .refused(reason: reason))
        }
    }
}
