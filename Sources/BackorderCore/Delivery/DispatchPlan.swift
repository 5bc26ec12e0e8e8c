/// The dispatcher's decisions each turn, as pure functions: what to claim for each
/// endpoint, what to withdraw from the client, which claimed messages to hold for
/// quiet hours, and how long to wait. The loop executes the answers (store, libcurl,
/// logs); these take the state it keeps and a fixed `now`.
public enum DispatchPlan {
    /// An endpoint as the plan sees it.
    public struct Endpoint: Equatable, Sendable {
        public var name: String
        public var maxInFlight: Int

        public init(name: String, maxInFlight: Int) {
            self.name = name
            self.maxInFlight = maxInFlight
        }
    }

    /// The most an endpoint without `max_in_flight` is given, however few share the pool.
    public static let shareCap = 8

    /// How many deliveries may be under way to an endpoint whose `max_in_flight` is not
    /// set: an equal part of what `concurrency` leaves after the endpoints that set one,
    /// at least one and at most `shareCap`. Endpoints that never answer then hold only
    /// their own parts of the pool, and every other endpoint keeps its part.
    public static func fairShare(concurrency: Int, explicit: [Int], shared: Int) -> Int {
        guard shared > 0 else { return shareCap }
        let left = concurrency - explicit.reduce(0) { $0 + min($1, concurrency) }
        return min(shareCap, max(1, left / shared))
    }

    /// Claim up to `limit` due messages for `endpoint`; `probing` when the one allowed
    /// is a half-open breaker's probe.
    public struct Claim: Equatable, Sendable {
        public var endpoint: String
        public var limit: Int
        public var probing: Bool

        public init(endpoint: String, limit: Int, probing: Bool) {
            self.endpoint = endpoint
            self.limit = limit
            self.probing = probing
        }
    }

    /// The limits the claims respect.
    public struct Limits: Equatable, Sendable {
        /// Requests under way over all endpoints (`delivery.concurrency`).
        public var concurrency: Int
        /// At most this many messages claimed for one endpoint in one turn.
        public var claimBatch: Int

        public init(concurrency: Int, claimBatch: Int) {
            self.concurrency = concurrency
            self.claimBatch = claimBatch
        }
    }

    /// What to claim this turn. `handed` counts what each endpoint has with the client
    /// (waiting or under way), `total` all of them. While a breaker is closed an endpoint
    /// keeps up to twice its `maxInFlight` handed over (one round under way, one
    /// waiting), and none more than twice the concurrency less what all have with the
    /// client as the turn begins (in one turn two endpoints may each take that much: the
    /// client's global limit still caps what is under way); an open breaker
    /// claims nothing until its cool-down ends, then one probe. `breakers` gains one for
    /// an endpoint that has none, and moves from open to half-open when a probe is due.
    public static func claims(endpoints: [Endpoint], handed: [String: Int], total: Int, limits: Limits,
                              breakers: inout [String: CircuitBreaker], newBreaker: () -> CircuitBreaker,
                              now: Instant) -> [Claim] {
        var out: [Claim] = []
        for e in endpoints {
            if breakers[e.name] == nil { breakers[e.name] = newBreaker() }
            let mine = handed[e.name, default: 0]
            if breakers[e.name]!.state == .closed {
                let want = min(limits.claimBatch, 2 * e.maxInFlight - mine, 2 * limits.concurrency - total)
                if want > 0 { out.append(Claim(endpoint: e.name, limit: want, probing: false)) }
                continue
            }
            let room = e.maxInFlight - mine
            let allowance = breakers[e.name]!.allowance(now: now) ?? room
            let limit = min(room, allowance)
            guard limit > 0 else { continue }
            out.append(Claim(endpoint: e.name, limit: limit, probing: allowance == 1))
        }
        return out
    }

    /// What to take back from the client before it is sent.
    public enum Withdrawal: Equatable, Sendable {
        /// Everything not yet started (shutting down).
        case everything
        /// What waits for this endpoint (it was removed, or its breaker opened).
        case endpoint(String)
    }

    /// Withdrawals at the start of a turn: everything waiting when draining; otherwise
    /// what waits for endpoints no longer configured.
    public static func withdrawals(draining: Bool, total: Int, handed: [String: Int],
                                   isConfigured: (String) -> Bool) -> [Withdrawal] {
        if draining { return total > 0 ? [.everything] : [] }
        var out: [Withdrawal] = []
        for (name, n) in handed where n > 0 && !isConfigured(name) { out.append(.endpoint(name)) }
        return out.count > 1 ? out.sorted { "\($0)" < "\($1)" } : out
    }

    /// Claimed messages for an endpoint with `quiet` hours, split into those to send now
    /// and customer messages to hold until the window ends. `offset` gives a customer
    /// zone's UTC offset in seconds at `now` (nil zone: the policy's zone).
    public static func handOver(_ messages: [OutboxMessage], quiet: QuietHours?, now: Instant,
                                offset: (String?) -> Int) -> (send: [OutboxMessage], hold: [(OutboxMessage, until: Instant)]) {
        guard let quiet else { return (messages, []) }
        var send: [OutboxMessage] = []
        var hold: [(OutboxMessage, until: Instant)] = []
        send.reserveCapacity(messages.count)
        for m in messages {
            if m.isCustomerMessage, let until = quiet.end(after: now, offsetSeconds: offset(m.zone)) {
                hold.append((m, until))
            } else {
                send.append(m)
            }
        }
        return (send, hold)
    }

    /// How long the loop may sleep when nothing is under way or the queue ran short:
    /// until the next message is due or the next breaker's cool-down ends, at most a
    /// second, at least a millisecond.
    public static func wait(nextDue: Instant?, breakers: [String: CircuitBreaker], now: Instant) -> Span {
        var wait = Span.seconds(1)
        if let due = nextDue { wait = min(wait, max(.zero, due - now)) }
        for b in breakers.values where b.state == .open {
            if let until = b.openUntil { wait = min(wait, max(.zero, until - now)) }
        }
        return max(wait, .ms(1))
    }
}
