import BackorderCore
import TestSupport
import Testing

/// Counts past the bounds are refused before they change anything; time arithmetic on
/// absurd values saturates. None of it may trap: the same line is read again after
/// every restart, so a trap is a crash loop.
@Suite struct BoundsTests {
    static let limit = QuantityLimit.position
    static let step = QuantityLimit.record

    /// A position pushed to exactly the bound with deltas of the largest size a record may have.
    func atTheBound() -> Sim {
        var s = Sim()
        s.stock(0)
        for _ in 0..<Int(Self.limit / Self.step) { s.delta(Self.step) }
        return s
    }

    @Test func aDeltaPastTheBoundIsRefusedAndChangesNothing() {
        var s = atTheBound()
        #expect(s.refused.isEmpty)
        #expect(s.ws.positions[Sim.key]?.onHand == Self.limit)
        s.delta(1)
        #expect(s.refused == ["a delta of 1 takes on_hand of A@store from \(Self.limit) past ±\(Self.limit)"])
        #expect(s.ws.positions[Sim.key]?.onHand == Self.limit)
        s.delta(-1)
        #expect(s.ws.positions[Sim.key]?.onHand == Self.limit - 1, "the next good record applies")
        var low = Sim()
        low.stock(0)
        for _ in 0..<Int(Self.limit / Self.step) { low.delta(-Self.step) }
        low.delta(-1)
        #expect(low.refused.count == 1)
        #expect(low.ws.positions[Sim.key]?.onHand == -Self.limit)
    }

    @Test func aNetCountWithOpenLinesPastTheBoundIsRefused() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 0, stockCounts: .net))
        // Waiting lines holding nearly the bound: a net count on top would overflow the sum.
        for i in 0..<Int(Self.limit / Self.step) { s.order("O-\(i)", qty: Self.step) }
        s.stock(1)
        #expect(s.refused.count == 1 && s.refused[0].contains("a net count of 1 plus the units open at A@store"), "\(s.refused)")
        #expect(s.ws.positions[Sim.key].map { $0.onHand } ?? 0 == 0)
        s.stock(0)
        #expect(s.refused.count == 1, "a count within the bound applies")
    }

    @Test func aReadyLineResentLargerPastTheBoundIsRefused() {
        var s = atTheBound()
        s.order("O", qty: 1)  // readied at once
        for i in 0..<Int(Self.limit / Self.step) - 1 { s.order("R-\(i)", qty: Self.step) }
        s.order("Q", qty: Self.step - 1)
        #expect(s.ws.positions[Sim.key]?.reserved == Self.limit)
        #expect(s.ws.lines[LineKey(order: "Q", line: "1")]?.status == .ready)
        s.order("O", qty: 2)
        #expect(s.refused == ["a quantity of 2 takes the units reserved at A@store past \(Self.limit)"])
        #expect(s.ws.lines[LineKey(order: "O", line: "1")]?.qty == 1, "the refused record changed nothing")
        #expect(s.ws.positions[Sim.key]?.reserved == Self.limit)
        s.order("O", qty: 1)
        #expect(s.refused.count == 1, "the same quantity again is fine")
    }

    @Test func waitingTotalsInAlertsStayBounded() {
        var s = Sim(DecisionPolicy(lowStockThreshold: 5))
        s.stock(10)
        for i in 0..<2_000 { s.order("W-\(i)", qty: Self.step) }  // 2·10^15 waiting: past the bound
        var events = s.delta(-10)
        events += s.tick(Sim.t0)
        let alerts = events.compactMap { e -> StaffAlert? in if case .staff(let a) = e { return a } else { return nil } }
        #expect(alerts.count == 1)
        #expect(alerts.first?.waitingQty == Self.limit, "the waiting total is capped, never wrapped")
    }

    @Test func absurdTimesSaturate() {
        #expect(Span.seconds(9_300_000_000_000_000).milliseconds == Int64.max)
        #expect(Span.days(-999_999_999_999_999).milliseconds == Int64.min)
        #expect(Instant(seconds: Int64.max).milliseconds == Int64.max)
        #expect(Instant(milliseconds: Int64.min) - Instant(milliseconds: 1) == Span(milliseconds: Int64.min))
        #expect(Instant(milliseconds: Int64.max) - Instant(milliseconds: -1) == Span(milliseconds: Int64.max))
        #expect(Instant(milliseconds: -5) + Span(milliseconds: Int64.min) == Instant(milliseconds: Int64.min))
        #expect(SpanSyntax.parse("999999999999999d") == Span(milliseconds: Int64.max))
        #expect(SpanSyntax.parse("36500d") == SpanSyntax.longest)
        #expect(SpanSyntax.parse("off") == nil)
    }
}
