import BackorderCore
import Daemon
import TestSupport
import Testing

/// The date rules (SPEC §1 as v2 reads it): a bare date is a whole day in the customer's
/// zone, passed once that day has ended there, compared day with day; an instant is what
/// it always was. Run against the system's zone database, as the daemon runs.
@Suite struct CalendarDateTests {
    static func day(_ y: Int, _ m: Int, _ d: Int) -> CalendarDay { CalendarDay(year: y, month: m, day: d) }
    static func at(_ s: String) -> Instant {
        guard case .instant(let i)? = RFC3339.parse(s.utf8) else { fatalError("bad instant \(s)") }
        return i
    }
    static let key = PositionKey(sku: "MUG", location: "store")

    /// A decision pass with `policy.timezone` = UTC and the system's zones.
    struct Run {
        var sim: Sim
        init(grace: Span = .zero, policyZone: String = "UTC") {
            sim = Sim(DecisionPolicy(grace: grace, lowStockThreshold: 0, calendar: ZoneRules.calendar(timezone: policyZone)))
        }

        @discardableResult
        mutating func order(_ order: String = "O-1", ordered: Moment = .instant(CalendarDateTests.at("2026-12-01T10:00:00Z")),
                            promised: Moment, zone: String?, at: Instant = CalendarDateTests.at("2026-12-01T10:00:00Z")) -> [Event] {
            sim.apply(.backorder(BackorderLine(order: order, line: "1", key: CalendarDateTests.key, qty: 1, orderedAt: ordered,
                                               promisedAt: promised, customer: Customer(id: "C", timezone: zone), at: at)))
        }

        @discardableResult
        mutating func restock(_ po: String = "P", expected: Moment, at: Instant = CalendarDateTests.at("2026-12-02T10:00:00Z")) -> [Event] {
            sim.apply(.restock(RestockChange(po: po, key: CalendarDateTests.key, quantity: 1, expectedAt: expected, at: at)))
        }
    }

    /// Zones far apart: west, the furthest ahead and behind, a half-hour offset.
    static let zones = ["America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "America/New_York", "UTC"]

    /// Local midnight of a date in a zone, from the system's database, worked out apart
    /// from `DayCalendar` (the offset at noon that day; none of these zones changes then).
    static func midnight(_ d: CalendarDay, _ zone: String) -> Instant {
        let utcNoon = d.number * 86_400 + 43_200
        let offset = ZoneRules.offset(zone, utcNoon)
        return Instant(seconds: d.number * 86_400 - offset)
    }

    @Test(arguments: zones)
    func aPromisedDayIsOverdueAtTheStartOfTheNextDayInTheCustomersZoneAndNotASecondBefore(zone: String) {
        var run = Run()
        run.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        let end = Self.midnight(Self.day(2026, 12, 11), zone)
        #expect(run.sim.line("O-1").deadline == end)
        #expect(run.sim.tick(end + .ms(-1)).isEmpty, "the promised day is not over in \(zone)")
        #expect(run.sim.tick(end) == [.overdue(LineKey(order: "O-1", line: "1"), estimate: .day(Self.day(2026, 12, 10)), at: end)])
    }

    @Test(arguments: zones)
    func withAGraceOfOneDayItIsOverdueOnTheDayAfter(zone: String) {
        var run = Run(grace: .days(1))
        run.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        let end = Self.midnight(Self.day(2026, 12, 12), zone)
        #expect(run.sim.tick(end + .ms(-1)).isEmpty)
        #expect(run.sim.tick(end).count == 1)
    }

    @Test func aPromiseIsNotPassedOnTheMorningOfItsOwnDay() {
        var run = Run()
        run.order(promised: .day(Self.day(2026, 12, 3)), zone: nil)
        #expect(run.sim.tick(Self.at("2026-12-03T09:00:00Z")).isEmpty)
        #expect(run.sim.tick(Self.at("2026-12-03T23:59:59Z")).isEmpty)
        #expect(run.sim.tick(Self.at("2026-12-04T00:00:00Z")).count == 1)
    }

    @Test(arguments: zones)
    func aLaterDayIsADelayAndTheSameDayNever(zone: String) {
        var run = Run()
        run.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        #expect(run.restock("P1", expected: .day(Self.day(2026, 12, 10))).isEmpty, "the promised day itself is no delay")
        var later = Run()
        later.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        let events = later.restock("P1", expected: .day(Self.day(2026, 12, 15)))
        #expect(events == [.delayed(LineKey(order: "O-1", line: "1"), to: .day(Self.day(2026, 12, 15)),
                                    at: Self.at("2026-12-02T10:00:00Z"))])
        #expect(later.sim.line("O-1").estimate == .day(Self.day(2026, 12, 15)))
    }

    @Test(arguments: zones)
    func anInstantAgainstAPromisedDayIsADelayOnlyAfterTheDaysEnd(zone: String) {
        let end = Self.midnight(Self.day(2026, 12, 11), zone)
        var inside = Run()
        inside.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        #expect(inside.restock(expected: .instant(end + .ms(-1))).isEmpty, "the last millisecond of the day is the day")
        var after = Run()
        after.order(promised: .day(Self.day(2026, 12, 10)), zone: zone)
        #expect(after.restock(expected: .instant(end)).count == 1)
    }

    @Test func aDateAgainstAPromisedInstantIsADelayWhenTheDayBeginsAfterIt() {
        var same = Run()
        same.order(promised: .instant(Self.at("2026-12-10T17:00:00Z")), zone: nil)
        #expect(same.restock(expected: .day(Self.day(2026, 12, 10))).isEmpty)
        var next = Run()
        next.order(promised: .instant(Self.at("2026-12-10T17:00:00Z")), zone: nil)
        #expect(next.restock(expected: .day(Self.day(2026, 12, 11))).count == 1)
    }

    @Test func aDaylightSavingChangeInsideTheWindowCountsCalendarDays() {
        // New York leaves summer time on 1 November 2026: that day has 25 hours.
        var run = Run(grace: .days(1))
        run.order(ordered: .day(Self.day(2026, 10, 20)), promised: .day(Self.day(2026, 10, 31)), zone: "America/New_York",
                  at: Self.at("2026-10-20T14:00:00Z"))
        // Promised 31 October, grace one calendar day: overdue at 00:00 on 2 November, EST.
        #expect(run.sim.line("O-1").deadline == Self.at("2026-11-02T05:00:00Z"))
        #expect(run.sim.tick(Self.at("2026-11-02T04:59:59.999Z")).isEmpty)
        #expect(run.sim.tick(Self.at("2026-11-02T05:00:00Z")).count == 1)
        // Long wait (21 days) from a date ordered before the change: 10 November 00:00 EST.
        #expect(run.sim.line("O-1").deadline == Self.at("2026-11-10T05:00:00Z"))
    }

    @Test func aDayWhoseMidnightIsSkippedStartsWhenTheClocksDo() {
        // Chile moves its clocks from 00:00 to 01:00 on 6 September 2026: that day begins
        // at 01:00 -03 (04:00 UTC); the day before ends then too.
        let cal = ZoneRules.calendar(timezone: "America/Santiago")
        #expect(cal.start(of: Self.day(2026, 9, 6)) == Self.at("2026-09-06T04:00:00Z"))
        #expect(cal.passes(.day(Self.day(2026, 9, 5)), in: 0) == Self.at("2026-09-06T04:00:00Z"))
        #expect(cal.day(of: Self.at("2026-09-06T03:59:59Z")) == Self.day(2026, 9, 5))
        #expect(cal.day(of: Self.at("2026-09-06T04:00:00Z")) == Self.day(2026, 9, 6))
        // Clocks go back from 24:00 to 23:00 on 4 April: that Saturday has 25 hours and
        // Sunday begins at 00:00 -04 (04:00 UTC).
        #expect(cal.start(of: Self.day(2026, 4, 5)) == Self.at("2026-04-05T04:00:00Z"))
        #expect(cal.start(of: Self.day(2026, 4, 5)) - cal.start(of: Self.day(2026, 4, 4)) == .hours(25))
    }

    @Test func aProjectedDayIsPastOnlyOnceItHasEnded() {
        var run = Run()
        run.order(promised: .day(Self.day(2026, 12, 1)), zone: "America/Los_Angeles")
        // Read at 03:00 UTC on 2 December: still 1 December in Los Angeles, so a purchase
        // order expected on the 1st is not yet late and counts as a date.
        run.restock(expected: .day(Self.day(2026, 12, 1)), at: Self.at("2026-12-02T03:00:00Z"))
        #expect(run.sim.line("O-1").projected == .day(Self.day(2026, 12, 1)))
    }

    @Test func allocationPutsADateAtItsStartInThePolicyZone() {
        var run = Run(policyZone: "America/New_York")
        // Ordered on 20 November (a date: from 05:00 UTC, 00:00 in New York), at 04:00 UTC
        // that day (an instant, earlier) and at 06:00 UTC (later): the date comes between.
        run.order("O-date", ordered: .day(Self.day(2026, 11, 20)), promised: .day(Self.day(2026, 12, 10)), zone: nil)
        run.order("O-early", ordered: .instant(Self.at("2026-11-20T04:00:00Z")), promised: .day(Self.day(2026, 12, 10)), zone: nil)
        run.order("O-late", ordered: .instant(Self.at("2026-11-20T06:00:00Z")), promised: .day(Self.day(2026, 12, 10)), zone: nil)
        let first = run.sim.stock(1, Self.key, at: Self.at("2026-12-02T00:00:00Z"))
        #expect(first.contains(.ready(LineKey(order: "O-early", line: "1"), at: Self.at("2026-12-02T00:00:00Z"))))
        let second = run.sim.stock(2, Self.key, at: Self.at("2026-12-02T00:00:01Z"))
        #expect(second.contains(.ready(LineKey(order: "O-date", line: "1"), at: Self.at("2026-12-02T00:00:01Z"))), "\(second)")
        #expect(run.sim.line("O-late").status == .waiting)
    }

    @Test func aPromiseRepeatedAsItsMidnightIsNoNewPromise() {
        // A state from before 0.2 holds the date; the feed spells it 2026-12-03T00:00:00Z.
        var run = Run()
        run.order(promised: .day(Self.day(2026, 12, 3)), zone: nil)
        #expect(run.restock(expected: .day(Self.day(2026, 12, 5))).count == 1)
        #expect(run.order(promised: .instant(Self.at("2026-12-03T00:00:00Z")), zone: nil).isEmpty, "told once")
        #expect(run.sim.line("O-1").estimate == .day(Self.day(2026, 12, 5)))
        #expect(run.sim.line("O-1").promisedAt == .day(Self.day(2026, 12, 3)), "the stored form stays")
        #expect(run.restock(expected: .instant(Self.at("2026-12-05T00:00:00Z"))).isEmpty)
    }

    @Test func momentsKeepTheirFormThroughTheStoredInteger() {
        let samples: [Moment] = [.day(Self.day(2026, 12, 10)), .day(Self.day(1, 1, 1)), .day(Self.day(9999, 12, 31)),
                                 .instant(Self.at("2026-12-10T00:00:00Z")), .instant(Instant(milliseconds: -5)),
                                 .instant(Self.at("9999-12-31T23:59:59.999Z"))]
        for m in samples { #expect(Moment(raw: m.raw) == m) }
        #expect(Moment.day(Self.day(2026, 12, 10)).raw == 4_000_000_000_020_261_210)
        #expect(Moment.day(Self.day(2026, 12, 10)).description == "2026-12-10")
    }

    @Test func aWebhookBodyCarriesADateAsTheDate() {
        let line = NoticeLine(line: "1", sku: "MUG", qty: 1, location: "store", promisedAt: .day(Self.day(2026, 12, 10)),
                              expectedAt: .day(Self.day(2026, 12, 15)))
        let notice = Notice(type: .delayed, orderKey: "O-1", at: Self.at("2026-11-21T10:00:00Z"), idSeed: "x",
                            content: .customer(CustomerNotice(order: "O-1", customer: Customer(id: "C"), lines: [line],
                                                              remaining: [], cancelURL: nil)), lineKeys: ["1"])
        let body = String(decoding: Payload.body(notice, message: RenderedMessage(subject: "", text: "", sms: "")), as: UTF8.self)
        #expect(body.contains(#""promised_at":"2026-12-10","expected_at":"2026-12-15""#))
    }
}
