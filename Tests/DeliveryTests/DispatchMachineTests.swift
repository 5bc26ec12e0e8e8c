import BackorderCore
import Delivery
import TestSupport
import Testing

/// The dispatcher's decisions as a value: sequences of events on a fixed clock, with no
/// libcurl and no SQLite. Each test plays turns the way `Dispatcher` does.
@Suite struct DispatchMachineTests {
    static let t0 = Script.t0
    static let retry = RetryPolicy(initialBackoff: .seconds(10), maxBackoff: .minutes(10), maxAttempts: 3, maxAge: .hours(24))
    static let limits = DispatchPlan.Limits(concurrency: 32, claimBatch: 256)

    static func message(_ id: Int64, endpoint: String = "email", attempts: Int = 0, customer: Bool = true,
                        zone: String? = nil) -> OutboxMessage {
        OutboxMessage(rowID: id, webhookID: "msg_\(id)", endpoint: endpoint, orderKey: "O-\(id)", type: "backorder.ready",
                      body: [], attempts: attempts, createdAt: t0, zone: zone, isCustomerMessage: customer)
    }

    static func breaker() -> CircuitBreaker { CircuitBreaker(threshold: 2, initialCooldown: .seconds(5), maxCooldown: .minutes(1)) }

    /// One machine and the endpoints it serves.
    struct Harness {
        var m = DispatchMachine(now: DispatchMachineTests.t0)
        var endpoints: [DispatchPlan.Endpoint]
        var quiet: [String: QuietHours] = [:]

        init(_ endpoints: [DispatchPlan.Endpoint] = [.init(name: "email", maxInFlight: 2)]) { self.endpoints = endpoints }

        mutating func begin(draining: Bool = false) -> [DispatchMachine.Action] {
            m.begin(endpoints: endpoints, concurrency: 32, draining: draining)
        }

        /// Claims at `now`, as the queue would answer with `available` messages per endpoint.
        mutating func claim(_ available: [String: [OutboxMessage]], at now: Instant, draining: Bool = false) -> (plan: [DispatchPlan.Claim], actions: [DispatchMachine.Action]) {
            let plan = m.claims(endpoints: endpoints, limits: DispatchMachineTests.limits, draining: draining,
                                newBreaker: DispatchMachineTests.breaker, now: now)
            var claimed: [String: [OutboxMessage]] = [:]
            for c in plan { claimed[c.endpoint] = Array((available[c.endpoint] ?? []).prefix(c.limit)) }
            _ = m.recorded()
            let quiet = self.quiet
            let actions = m.claimed(claimed, for: plan, quiet: { quiet[$0] }, now: now, offset: { _ in 0 })
            return (plan, actions)
        }

        mutating func end(_ e: [DispatchMachine.Ended], at now: Instant) -> [DispatchMachine.Action] {
            m.ended(e, now: now, retry: DispatchMachineTests.retry, jitter: { 1.0 })
        }
    }

    @Test func aFirstTurnMakesTheLimitsAndHandsWhatItClaims() {
        var h = Harness()
        #expect(h.begin() == [.globalMaximum(32), .endpointMaximum("email", 2)])
        #expect(h.begin().isEmpty, "unchanged limits are not set again")
        let (plan, actions) = h.claim(["email": (1...10).map { Self.message($0) }], at: Self.t0)
        #expect(plan == [DispatchPlan.Claim(endpoint: "email", limit: 4, probing: false)], "twice max_in_flight")
        #expect(actions == [.hand((1...4).map { Self.message($0) }, endpoint: "email")])
        #expect(h.m.handed["email"] == 4 && h.m.total == 4)
        #expect(h.m.next(draining: false) == .wait(gather: 1, untilDue: false))
        // All four with the client: nothing more is claimed until some end.
        #expect(h.claim(["email": [Self.message(5)]], at: Self.t0).plan.isEmpty)
    }

    @Test func aServerErrorIsRetriedThenDeliveredAndCountedAsDecided() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1)]], at: Self.t0)
        let failed = DispatchMachine.Ended(message: Self.message(1), endpoint: "email", outcome: .retry(reason: "http_503", after: nil),
                                           error: "http_503: HTTP 503", status: 503)
        let t1 = Self.t0 + .seconds(1)
        let a = h.end([failed], at: t1)
        let next = t1 + .seconds(10)
        #expect(a == [.attempted(failed, .retry(.retry(rowID: 1, next: next, error: "http_503: HTTP 503"), reason: "http_503", next: next), attempt: 1)])
        #expect(h.m.updates == [.retry(rowID: 1, next: next, error: "http_503: HTTP 503")])
        #expect(h.m.errors == ["email": "http_503: HTTP 503"])
        #expect(h.m.total == 0)
        let retried = h.m.recorded()
        #expect(retried, "a retry was recorded: the loop looks again before its timer")
        let ok = DispatchMachine.Ended(message: Self.message(1, attempts: 1), endpoint: "email", outcome: .delivered(status: 204), status: 204)
        let b = h.end([ok], at: next)
        #expect(b == [.attempted(ok, .delivered(.delivered(rowID: 1, at: next, status: 204)), attempt: 2)])
        #expect(h.m.errors.isEmpty)
    }

    @Test func theLastAttemptOfARetryableFailureIsADeadLetter() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1, attempts: 2)]], at: Self.t0)
        let last = DispatchMachine.Ended(message: Self.message(1, attempts: 2), endpoint: "email",
                                         outcome: .retry(reason: "timeout", after: nil), error: "timeout: …")
        let a = h.end([last], at: Self.t0)
        #expect(a == [.attempted(last, .dead(.dead(rowID: 1, error: "timeout: …"), .exhausted(reason: "timeout", attempts: 3)), attempt: 3)])
    }

    @Test func retryAfterSetsTheNextAttempt() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1)]], at: Self.t0)
        let throttled = DispatchMachine.Ended(message: Self.message(1), endpoint: "email", outcome: .retry(reason: "throttled", after: .seconds(120)),
                                              error: "throttled: HTTP 429", status: 429)
        _ = h.end([throttled], at: Self.t0)
        #expect(h.m.updates == [.retry(rowID: 1, next: Self.t0 + .seconds(120), error: "throttled: HTTP 429")])
        #expect(h.m.breakers["email"]?.failures == 0, "throttling is not a failure")
        #expect(h.m.total == 0)
    }

    @Test func aBreakerOpensWithdrawsProbesAndCloses() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1), Self.message(2), Self.message(3)]], at: Self.t0)  // makes the breaker
        let fail = { (id: Int64) in DispatchMachine.Ended(message: Self.message(id), endpoint: "email", outcome: .retry(reason: "connect", after: nil),
                                                          error: "connect: refused") }
        let t1 = Self.t0 + .seconds(1)
        let a = h.end([fail(1), fail(2)], at: t1)
        #expect(a.contains { if case .breaker("email", .open, _) = $0 { true } else { false } })
        #expect(a.last == .withdraw(endpoint: "email"), "what waits for it goes back unsent")
        // The withdrawn one comes back unsent: postponed, no attempt counted.
        let back = h.end([DispatchMachine.Ended(message: Self.message(3), endpoint: "email", outcome: nil)], at: t1)
        #expect(back.isEmpty && h.m.updates.last == .postpone(rowID: 3, until: t1))
        // Open: nothing claimed during the cool-down, then one probe.
        #expect(h.claim(["email": [Self.message(3)]], at: t1 + .seconds(2)).plan.isEmpty)
        let probe = h.claim(["email": [Self.message(3), Self.message(4)]], at: t1 + .seconds(6))
        #expect(probe.plan == [DispatchPlan.Claim(endpoint: "email", limit: 1, probing: true)])
        #expect(probe.actions.first.map { if case .breaker("email", .halfOpen, _) = $0 { true } else { false } } == true)
        #expect(probe.actions.last == .hand([Self.message(3)], endpoint: "email"))
        let ok = DispatchMachine.Ended(message: Self.message(3), endpoint: "email", outcome: .delivered(status: 200), status: 200)
        let c = h.end([ok], at: t1 + .seconds(7))
        #expect(c.contains { if case .breaker("email", .closed, _) = $0 { true } else { false } })
    }

    @Test func anUnusedProbeIsGivenBack() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim([:], at: Self.t0)
        let fail = { (id: Int64) in DispatchMachine.Ended(message: Self.message(id), endpoint: "email", outcome: .retry(reason: "dns", after: nil)) }
        _ = h.end([fail(1), fail(2)], at: Self.t0)
        let probe = h.claim([:], at: Self.t0 + .seconds(6))
        #expect(probe.plan.first?.probing == true && probe.actions.isEmpty)
        #expect(h.m.breakers["email"]?.state == .open, "no message: the breaker waits for the next one")
    }

    @Test func customerMessagesInQuietHoursAreHeldStaffAlertsAreNot() {
        var h = Harness()
        let quiet = QuietHours.parse("00:00-08:00")  // t0 is midnight UTC
        #expect(quiet != nil)
        h.quiet["email"] = quiet
        _ = h.begin()
        let customer = Self.message(1), staff = Self.message(2, customer: false)
        let (_, actions) = h.claim(["email": [customer, staff]], at: Self.t0)
        let until = Self.t0 + .hours(8)
        #expect(actions == [.held(customer, endpoint: "email", until: until), .hand([staff], endpoint: "email")])
        #expect(h.m.updates == [.postpone(rowID: 1, until: until)])
        #expect(h.m.next(draining: false) == .again, "the postponement is recorded before the loop waits")
        #expect(h.m.handed["email"] == 1)
    }

    @Test func maxInFlightAndConcurrencyBoundTheClaims() {
        var h = Harness([.init(name: "email", maxInFlight: 3), .init(name: "sms", maxInFlight: 40)])
        _ = h.begin()
        let many = (1...100).map { Self.message($0) }
        let (plan, _) = h.claim(["email": many, "sms": many], at: Self.t0)
        // Twice max_in_flight, and each at most twice the concurrency less what is with the
        // client as the turn begins (the client's global limit caps what is under way).
        #expect(plan.map(\.limit) == [6, 64])
        #expect(h.m.total == 70)
        let next = h.claim(["email": many, "sms": many], at: Self.t0).plan
        #expect(next.isEmpty, "with 70 handed over, no more until some end")
    }

    @Test func aRemovedEndpointsWaitingMessagesAreWithdrawn() {
        var h = Harness([.init(name: "email", maxInFlight: 2), .init(name: "old", maxInFlight: 2)])
        _ = h.begin()
        _ = h.claim(["old": [Self.message(1, endpoint: "old")]], at: Self.t0)
        h.endpoints = [.init(name: "email", maxInFlight: 2)]
        #expect(h.begin() == [.withdraw(endpoint: "old")])
        // A changed max_in_flight resizes the limit.
        h.endpoints = [.init(name: "email", maxInFlight: 5)]
        #expect(h.begin().contains(.endpointMaximum("email", 5)))
    }

    @Test func shutdownWithdrawsEverythingAndStopsOnceNothingIsWithTheClient() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1), Self.message(2)]], at: Self.t0)
        #expect(h.begin(draining: true) == [.withdraw(endpoint: nil)])
        #expect(h.claim(["email": [Self.message(3)]], at: Self.t0, draining: true).plan.isEmpty, "nothing new is claimed")
        #expect(h.m.next(draining: true) == .wait(gather: 1, untilDue: false))
        let ended = [DispatchMachine.Ended(message: Self.message(1), endpoint: "email", outcome: .delivered(status: 200)),
                     DispatchMachine.Ended(message: Self.message(2), endpoint: "email", outcome: nil)]
        _ = h.end(ended, at: Self.t0)
        #expect(h.m.next(draining: true) == .stop)
        #expect(h.m.updates == [.delivered(rowID: 1, at: Self.t0, status: 200), .postpone(rowID: 2, until: Self.t0)],
                "what is left is recorded as the loop stops")
    }

    @Test func aShortClaimLetsTheLoopWaitUntilTheNextDueMessage() {
        var h = Harness()
        _ = h.begin()
        _ = h.claim(["email": [Self.message(1)]], at: Self.t0)
        #expect(h.m.next(draining: false) == .wait(gather: 1, untilDue: true))
        let due = [29, 30, 31].map { h.m.reclaimDue(now: Self.t0 + .seconds(Int64($0))) }
        #expect(due == [false, true, false])
    }
}
