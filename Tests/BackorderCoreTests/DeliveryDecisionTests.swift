import BackorderCore
import TestSupport
import Testing

/// The dispatcher's decisions as tables on a fixed instant: no receiver, no clock, no sleeping.
@Suite struct DeliveryDecisionTests {
    static let t = Instant(seconds: 1_796_083_200)  // 2026-12-01T00:00:00Z
    static let policy = RetryPolicy(initialBackoff: .ms(150), maxBackoff: .hours(6), maxAttempts: 5, maxAge: .hours(72))

    static func decide(_ o: Outcome, attempt: Int, age: Span = .zero, jitter: Double = 1) -> DeliveryDecision.Action {
        DeliveryDecision.decide(o, rowID: 7, attempt: attempt, createdAt: t + Span(milliseconds: -age.milliseconds), now: t,
                                policy: policy, jitter: jitter, error: "e")
    }

    /// One row of the table: an attempt's outcome and circumstances, and the decision.
    struct Case: Sendable, CustomTestStringConvertible {
        var outcome: Outcome
        var attempt: Int
        var age: Span = .zero
        var jitter: Double = 1
        var expected: DeliveryDecision.Action
        var testDescription: String { "\(outcome) attempt \(attempt)" }
    }

    static func retry(_ reason: String, at next: Instant) -> DeliveryDecision.Action {
        .retry(.retry(rowID: 7, next: next, error: "e"), reason: reason, next: next)
    }
    static func dead(_ death: DeliveryDecision.Death) -> DeliveryDecision.Action { .dead(.dead(rowID: 7, error: "e"), death) }

    static let cases: [Case] = [
        Case(outcome: .delivered(status: 204), attempt: 1, expected: .delivered(.delivered(rowID: 7, at: t, status: 204))),
        // Full jitter pinned at 1: the ceiling, doubling from initial_backoff.
        Case(outcome: .retry(reason: "http_500", after: nil), attempt: 1, expected: retry("http_500", at: t + .ms(150))),
        Case(outcome: .retry(reason: "http_500", after: nil), attempt: 2, expected: retry("http_500", at: t + .ms(300))),
        Case(outcome: .retry(reason: "http_500", after: nil), attempt: 3, jitter: 0.5, expected: retry("http_500", at: t + .ms(300))),
        Case(outcome: .retry(reason: "timeout", after: nil), attempt: 4, jitter: 0, expected: retry("timeout", at: t)),
        // Retry-After wins, within max_backoff, however large.
        Case(outcome: .retry(reason: "throttled", after: .seconds(2)), attempt: 1, expected: retry("throttled", at: t + .seconds(2))),
        Case(outcome: .retry(reason: "http_503", after: .seconds(9_300_000_000_000_000)), attempt: 1,
             expected: retry("http_503", at: t + .hours(6))),
        // Out of attempts, or the next try would be past max_age: dead.
        Case(outcome: .retry(reason: "http_500", after: nil), attempt: 5, expected: dead(.exhausted(reason: "http_500", attempts: 5))),
        Case(outcome: .retry(reason: "connect", after: .hours(1)), attempt: 2, age: .minutes(71 * 60 + 30),
             expected: dead(.exhausted(reason: "connect", attempts: 2))),
        Case(outcome: .retry(reason: "connect", after: .minutes(10)), attempt: 2, age: .minutes(71 * 60 + 30),
             expected: retry("connect", at: t + .minutes(10))),
        // Refused: dead at once, whatever the attempts left.
        Case(outcome: .permanent(reason: "http_410"), attempt: 1, expected: dead(.refused(reason: "http_410"))),
    ]

    @Test(arguments: cases)
    func decidesEachAttempt(_ c: Case) {
        #expect(Self.decide(c.outcome, attempt: c.attempt, age: c.age, jitter: c.jitter) == c.expected)
    }

    static let endpoints = [DispatchPlan.Endpoint(name: "email", maxInFlight: 8), DispatchPlan.Endpoint(name: "sms", maxInFlight: 2)]
    static let limits = DispatchPlan.Limits(concurrency: 32, claimBatch: 256)
    static func breaker() -> CircuitBreaker { CircuitBreaker(threshold: 2, initialCooldown: .seconds(5), maxCooldown: .minutes(5)) }

    @Test func closedBreakersClaimTwiceMaxInFlightLessWhatIsHandedOver() {
        var breakers: [String: CircuitBreaker] = [:]
        let claims = DispatchPlan.claims(endpoints: Self.endpoints, handed: ["email": 5], total: 5, limits: Self.limits,
                                         breakers: &breakers, newBreaker: Self.breaker, now: Self.t)
        #expect(claims == [DispatchPlan.Claim(endpoint: "email", limit: 11, probing: false),
                           DispatchPlan.Claim(endpoint: "sms", limit: 4, probing: false)])
        #expect(breakers.count == 2, "each endpoint gains a breaker")
        // The global cap: twice the concurrency over all endpoints.
        let tight = DispatchPlan.claims(endpoints: Self.endpoints, handed: ["email": 16], total: 62,
                                        limits: Self.limits, breakers: &breakers, newBreaker: Self.breaker, now: Self.t)
        #expect(tight == [DispatchPlan.Claim(endpoint: "sms", limit: 2, probing: false)])
        let full = DispatchPlan.claims(endpoints: Self.endpoints, handed: ["email": 16, "sms": 4], total: 20,
                                       limits: Self.limits, breakers: &breakers, newBreaker: Self.breaker, now: Self.t)
        #expect(full.isEmpty)
        let batch = DispatchPlan.claims(endpoints: [.init(name: "big", maxInFlight: 1000)], handed: [:], total: 0,
                                        limits: .init(concurrency: 1024, claimBatch: 256), breakers: &breakers,
                                        newBreaker: Self.breaker, now: Self.t)
        #expect(batch == [DispatchPlan.Claim(endpoint: "big", limit: 256, probing: false)])
    }

    @Test func anOpenBreakerClaimsNothingThenOneProbe() {
        var b = Self.breaker()
        b.record(failure: true, now: Self.t)
        b.record(failure: true, now: Self.t)
        #expect(b.state == .open)
        var breakers = ["sms": b]
        let sms = [Self.endpoints[1]]
        #expect(DispatchPlan.claims(endpoints: sms, handed: [:], total: 0, limits: Self.limits, breakers: &breakers,
                                    newBreaker: Self.breaker, now: Self.t + .seconds(4)).isEmpty)
        let probe = DispatchPlan.claims(endpoints: sms, handed: [:], total: 0, limits: Self.limits, breakers: &breakers,
                                        newBreaker: Self.breaker, now: Self.t + .seconds(5))
        #expect(probe == [DispatchPlan.Claim(endpoint: "sms", limit: 1, probing: true)])
        #expect(breakers["sms"]?.state == .halfOpen)
        #expect(DispatchPlan.claims(endpoints: sms, handed: ["sms": 1], total: 1, limits: Self.limits, breakers: &breakers,
                                    newBreaker: Self.breaker, now: Self.t + .seconds(6)).isEmpty, "one probe at a time")
    }

    @Test func withdrawalsOnShutdownAndForRemovedEndpoints() {
        #expect(DispatchPlan.withdrawals(draining: true, total: 3, handed: ["email": 3], isConfigured: { _ in true }) == [.everything])
        #expect(DispatchPlan.withdrawals(draining: true, total: 0, handed: [:], isConfigured: { _ in true }).isEmpty)
        #expect(DispatchPlan.withdrawals(draining: false, total: 5, handed: ["email": 2, "old": 3, "gone": 0],
                                         isConfigured: { $0 == "email" }) == [.endpoint("old")])
        #expect(DispatchPlan.withdrawals(draining: false, total: 2, handed: ["email": 2], isConfigured: { _ in true }).isEmpty)
    }

    @Test func quietHoursHoldCustomerMessagesOnlyInsideTheWindow() throws {
        func message(_ id: Int64, customer: Bool, zone: String? = nil) -> OutboxMessage {
            OutboxMessage(rowID: id, webhookID: "msg_\(id)", endpoint: "sms", orderKey: "O", type: "backorder.ready", body: [],
                          attempts: 0, createdAt: Self.t, zone: zone, isCustomerMessage: customer)
        }
        let quiet = try #require(QuietHours.parse("21:00-08:00"))
        let night = Self.t + .hours(23)  // 23:00 UTC
        let messages = [message(1, customer: true), message(2, customer: false), message(3, customer: true, zone: "Asia/Tokyo")]
        // UTC for the policy's zone; Tokyo is UTC+9, so 08:00 there, outside the window.
        let (send, hold) = DispatchPlan.handOver(messages, quiet: quiet, now: night) { $0 == "Asia/Tokyo" ? 9 * 3600 : 0 }
        #expect(send.map(\.rowID) == [2, 3], "staff alerts never wait; a customer whose morning it is gets it")
        #expect(hold.map(\.0.rowID) == [1])
        #expect(hold.first?.until == Self.t + .hours(32), "held until 08:00 the next day")
        let day = DispatchPlan.handOver(messages, quiet: quiet, now: Self.t + .hours(12)) { _ in 0 }
        #expect(day.send.count == 3 && day.hold.isEmpty)
        let none = DispatchPlan.handOver(messages, quiet: nil, now: night) { _ in 0 }
        #expect(none.send.count == 3)
    }

    @Test func theLoopSleepsUntilTheNextDueMessageOrProbeAtMostASecond() {
        var open = Self.breaker()
        open.record(failure: true, now: Self.t)
        open.record(failure: true, now: Self.t)  // open until t + 5 s
        #expect(DispatchPlan.wait(nextDue: nil, breakers: [:], now: Self.t) == .seconds(1))
        #expect(DispatchPlan.wait(nextDue: Self.t + .ms(250), breakers: [:], now: Self.t) == .ms(250))
        #expect(DispatchPlan.wait(nextDue: Self.t + .ms(-5), breakers: [:], now: Self.t) == .ms(1), "overdue: at once, never a busy zero")
        #expect(DispatchPlan.wait(nextDue: nil, breakers: ["sms": open], now: Self.t + .ms(4_700)) == .ms(300))
        #expect(DispatchPlan.wait(nextDue: Self.t + .ms(4_800), breakers: ["sms": open], now: Self.t + .ms(4_700)) == .ms(100))
    }
}
