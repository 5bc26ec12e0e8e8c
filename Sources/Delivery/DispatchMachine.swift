import BackorderCore

/// The dispatcher's state between turns and every decision it makes, as a value: events
/// go in (a turn begins, requests ended, messages were claimed), actions come out (size
/// a limit, withdraw what waits, log and count an attempt, tell a breaker's change, hold
/// a message for quiet hours, hand messages to the client). `Dispatcher` executes the
/// actions with libcurl and SQLite; tests drive the machine on a fixed clock with
/// neither (in the style of async-http-client's connection-pool state machine).
///
/// One turn: `begin`, then `ended` with what finished, `claims` for what to claim,
/// `recorded` once the queue took `updates` and `errors`, `claimed` with what it
/// handed back, and `next` for what to do then.
public struct DispatchMachine: Sendable {
    /// A request that ended. `outcome` is nil for one withdrawn unsent (no attempt made).
    public struct Ended: Sendable, Equatable {
        public var message: OutboxMessage
        public var endpoint: String
        public var outcome: Outcome?
        /// What is recorded as the message's last error when the attempt failed.
        public var error: String
        public var elapsed: Duration
        /// The HTTP status received, if any.
        public var status: Int?

        public init(message: OutboxMessage, endpoint: String, outcome: Outcome?, error: String = "", elapsed: Duration = .zero,
                    status: Int? = nil) {
            self.message = message
            self.endpoint = endpoint
            self.outcome = outcome
            self.error = error
            self.elapsed = elapsed
            self.status = status
        }
    }

    public enum Action: Sendable, Equatable {
        /// Size the client's limit over all endpoints.
        case globalMaximum(Int)
        /// Make or size an endpoint's limit.
        case endpointMaximum(String, Int)
        /// Take back, unsent, what waits in the client for an endpoint (nil: everything).
        case withdraw(endpoint: String?)
        /// One attempt and what was decided for it (`attempt` is its number): to log and count.
        case attempted(Ended, DeliveryDecision.Action, attempt: Int)
        /// An endpoint's breaker changed state.
        case breaker(String, CircuitBreaker.State, CircuitBreaker)
        /// A customer message claimed inside its quiet hours, postponed until they end.
        case held(OutboxMessage, endpoint: String, until: Instant)
        /// Hand messages to the client for an endpoint (each signed as it starts).
        case hand([OutboxMessage], endpoint: String)
    }

    /// What to do once a turn's work is done.
    public enum Next: Sendable, Equatable {
        /// Draining, and nothing is with the client: record what is left and stop.
        case stop
        /// Postponements wait to be recorded: go round at once.
        case again
        /// Wait for `gather` requests to end (or a wake); `untilDue` when the wait may last
        /// until the next message is due (a claim came back short, or nothing is under way).
        case wait(gather: Int, untilDue: Bool)
    }

    public private(set) var breakers: [String: CircuitBreaker] = [:]
    /// Messages with the client, waiting or under way, by endpoint and in all.
    public private(set) var handed: [String: Int] = [:]
    public private(set) var total = 0
    /// Outcomes and postponements for the next exchange with the queue.
    public private(set) var updates: [DeliveryUpdate] = []
    /// Each endpoint's last error this turn, for the queue to show.
    public private(set) var errors: [String: String] = [:]
    private var globalMax: Int?
    private var endpointMax: [String: Int] = [:]
    private var drained = false
    private var lastReclaim: Instant

    /// How often leases that ran out are taken back.
    public static let reclaimEvery = Span.seconds(30)

    public init(now: Instant) { lastReclaim = now }

    /// Whether `updates` or `errors` wait to be recorded.
    public var hasUpdates: Bool { !updates.isEmpty || !errors.isEmpty }

    /// A turn begins: the limits follow the configuration, and what waits for an
    /// endpoint no longer configured (or everything, when draining) is withdrawn.
    public mutating func begin(endpoints: [DispatchPlan.Endpoint], concurrency: Int, draining: Bool) -> [Action] {
        var out: [Action] = []
        if globalMax != concurrency {
            globalMax = concurrency
            out.append(.globalMaximum(concurrency))
        }
        for e in endpoints where endpointMax[e.name] != e.maxInFlight {
            endpointMax[e.name] = e.maxInFlight
            out.append(.endpointMaximum(e.name, e.maxInFlight))
        }
        let names = Set(endpoints.map(\.name))
        for w in DispatchPlan.withdrawals(draining: draining, total: total, handed: handed, isConfigured: names.contains) {
            switch w {
            case .everything: out.append(.withdraw(endpoint: nil))
            case .endpoint(let name): out.append(.withdraw(endpoint: name))
            }
        }
        return out
    }

    /// Requests ended. Each one sent is decided (`DeliveryDecision`), its update kept for
    /// the next exchange and its endpoint's breaker told; a breaker that opens withdraws
    /// what waits for it. One withdrawn unsent goes back to the queue with no attempt.
    public mutating func ended(_ done: [Ended], now: Instant, retry: RetryPolicy, jitter: () -> Double) -> [Action] {
        var out: [Action] = []
        for e in done {
            total -= 1
            handed[e.endpoint, default: 0] -= 1
        }
        for e in done {
            guard let outcome = e.outcome else {
                updates.append(.postpone(rowID: e.message.rowID, until: now))
                continue
            }
            let attempt = e.message.attempts + 1
            let action = DeliveryDecision.decide(outcome, rowID: e.message.rowID, attempt: attempt, createdAt: e.message.createdAt,
                                                 now: now, policy: retry, jitter: jitter(), error: e.error)
            updates.append(action.update)
            if case .delivered = action {} else { errors[e.endpoint] = e.error }
            out.append(.attempted(e, action, attempt: attempt))
            if let state = breakers[e.endpoint]?.record(failure: outcome.isFailure, now: now) {
                out.append(.breaker(e.endpoint, state, breakers[e.endpoint]!))
                if state == .open { out.append(.withdraw(endpoint: e.endpoint)) }
            }
        }
        return out
    }

    /// What to claim this turn (`DispatchPlan.claims`); nothing when draining.
    public mutating func claims(endpoints: [DispatchPlan.Endpoint], limits: DispatchPlan.Limits, draining: Bool,
                                newBreaker: () -> CircuitBreaker, now: Instant) -> [DispatchPlan.Claim] {
        guard !draining else { return [] }
        return DispatchPlan.claims(endpoints: endpoints, handed: handed, total: total, limits: limits, breakers: &breakers,
                                   newBreaker: newBreaker, now: now)
    }

    /// The queue recorded `updates` and `errors`. Returns whether a retry was among them
    /// (it may be due before the loop's next timer).
    public mutating func recorded() -> Bool {
        let retried = updates.contains { if case .retry = $0 { true } else { false } }
        updates.removeAll(keepingCapacity: true)
        errors.removeAll()
        return retried
    }

    /// The queue handed back what was claimed. A probe that found nothing to send is
    /// given back to its breaker; customer messages inside their quiet hours are held;
    /// the rest go to the client. Call it every turn, even with an empty plan or after a
    /// failed exchange (with nothing claimed): it sets what `next` reads.
    public mutating func claimed(_ claimed: [String: [OutboxMessage]], for plan: [DispatchPlan.Claim], quiet: (String) -> QuietHours?,
                                 now: Instant, offset: (String?) -> Int) -> [Action] {
        var out: [Action] = []
        drained = false
        for claim in plan {
            let messages = claimed[claim.endpoint] ?? []
            if messages.count < claim.limit { drained = true }
            if claim.probing {
                if messages.isEmpty {
                    breakers[claim.endpoint]?.probeUnused(now: now)
                } else if let b = breakers[claim.endpoint] {
                    out.append(.breaker(claim.endpoint, .halfOpen, b))
                }
            }
            guard !messages.isEmpty else { continue }
            let (send, hold) = DispatchPlan.handOver(messages, quiet: quiet(claim.endpoint), now: now, offset: offset)
            for (m, until) in hold {
                updates.append(.postpone(rowID: m.rowID, until: until))
                out.append(.held(m, endpoint: claim.endpoint, until: until))
            }
            guard !send.isEmpty else { continue }
            handed[claim.endpoint, default: 0] += send.count
            total += send.count
            out.append(.hand(send, endpoint: claim.endpoint))
        }
        return out
    }

    /// Whether leases that ran out are due to be taken back (every `reclaimEvery`).
    public mutating func reclaimDue(now: Instant) -> Bool {
        guard now - lastReclaim >= Self.reclaimEvery else { return false }
        lastReclaim = now
        return true
    }

    /// What to do once the turn's work is done. With many handed over the loop waits
    /// for a quarter of them to end (the client keeps the rest going): fewer, larger
    /// turns and transactions.
    public func next(draining: Bool) -> Next {
        if draining && total == 0 { return .stop }
        if !updates.isEmpty { return .again }
        return .wait(gather: max(1, total / 4), untilDue: drained || total == 0)
    }
}
