import Synchronization

/// A time zone as the decisions know it: an index into `DayCalendar`'s zones, `0` for
/// `policy.timezone`. Two bytes in every order line instead of the zone's name.
public typealias ZoneID = UInt16

/// Where days begin and end, and the date rules built on that: when a promise has
/// passed, whether a projected date is later than an estimate, when a deadline falls.
///
/// The decision core reads no time-zone database; the edge gives it one function,
/// `offset(zone, utcSeconds) -> seconds east of UTC`, and the calendar keeps the day
/// starts it has worked out. A date means the whole day in the zone the rule reads it
/// in: the customer's (`customer.timezone`, else `policy.timezone`) for customer rules.
/// Where a date and an instant must be put in one order (allocation by `ordered_at`,
/// purchase orders by `expected_at`), the date counts from its start in `policy.timezone`.
public final class DayCalendar: Sendable, CustomStringConvertible {
    /// Seconds east of UTC in the named zone at a Unix time.
    public typealias Offset = @Sendable (_ zone: String, _ utcSeconds: Int64) -> Int64

    /// `policy.timezone`, zone 0.
    public let policyZone: String
    private let offset: Offset

    private struct Tables {
        var names: [String]
        var ids: [String: ZoneID]
        var starts: [Int64: Int64] = [:]
    }
    private let tables: Mutex<Tables>
    /// Day starts kept at most before the cache starts afresh (a few megabytes).
    static let keep = 100_000

    /// `offset` defaults to UTC everywhere: enough for tests of the core; the daemon
    /// passes the system's zone database.
    public init(policyZone: String = "UTC", offset: @escaping Offset = { _, _ in 0 }) {
        self.policyZone = policyZone
        self.offset = offset
        tables = Mutex(Tables(names: [policyZone], ids: [policyZone: 0]))
    }

    public var description: String { "DayCalendar(\(policyZone))" }

    /// The id of a customer's zone; nil or the policy's own zone is 0.
    public func zone(named name: String?) -> ZoneID {
        guard let name, name != policyZone else { return 0 }
        return tables.withLock { t in
            if let id = t.ids[name] { return id }
            // More distinct zones than two bytes hold cannot come from the IANA list; were
            // they to, the rest read in the policy's zone rather than failing.
            guard t.names.count < Int(ZoneID.max) else { return 0 }
            let id = ZoneID(t.names.count)
            t.names.append(name)
            t.ids[name] = id
            return id
        }
    }

    /// The zone's name.
    public func name(of zone: ZoneID) -> String {
        tables.withLock { Int(zone) < $0.names.count ? $0.names[Int(zone)] : policyZone }
    }

    /// The first instant of a day in a zone: its local midnight, or where a daylight-saving
    /// change skips midnight, the first local time that exists that day.
    public func start(of day: CalendarDay, in zone: ZoneID = 0) -> Instant {
        let key = day.number &* 65_536 &+ Int64(zone)
        if let known = tables.withLock({ $0.starts[key] }) { return Instant(milliseconds: known) }
        let name = self.name(of: zone)
        let midnight = Span.saturating(day.number, 86_400)  // seconds, UTC midnight of the day
        // The offset at midnight UTC, then at the local midnight it suggests: one of the
        // two is local midnight; in a gap, the one that lands on or after it is the gap's end.
        let o1 = offset(name, midnight)
        let o2 = offset(name, midnight &- o1)
        var best: Int64? = nil
        for o in [o1, o2] {
            let t = midnight &- o
            if t &+ offset(name, t) >= midnight, best.map({ t < $0 }) ?? true { best = t }
        }
        let ms = Span.saturating(best ?? (midnight &- o1), 1000)
        tables.withLock { t in
            if t.starts.count >= Self.keep { t.starts.removeAll(keepingCapacity: true) }
            t.starts[key] = ms
        }
        return Instant(milliseconds: ms)
    }

    /// The date of an instant in a zone.
    public func day(of instant: Instant, in zone: ZoneID = 0) -> CalendarDay {
        let secs = Self.floorDivide(instant.milliseconds, 1000)
        let (local, overflow) = secs.addingReportingOverflow(offset(name(of: zone), secs))
        return CalendarDay(number: Self.floorDivide(overflow ? secs : local, 86_400))
    }

    // MARK: The date rules

    /// Where allocation and the purchase orders' arrival order put a time: an instant
    /// as it is, a date at its start in `policy.timezone`.
    public func ordering(_ m: Moment) -> Instant {
        switch m {
        case .instant(let i): i
        case .day(let d): start(of: d)
        }
    }

    /// The stored form's `ordering`, without making a `Moment` for an instant.
    @inline(__always)
    func ordering(raw: Int64) -> Int64 {
        raw < Moment.dayTag ? raw : ordering(Moment(raw: raw)).milliseconds
    }

    /// When `m` has passed in `zone`: an instant at itself, a date at the start of the next day.
    public func passes(_ m: Moment, in zone: ZoneID) -> Instant {
        switch m {
        case .instant(let i): i
        case .day(let d): start(of: d.adding(days: 1), in: zone)
        }
    }

    /// Whether `m` has passed at `now` in `zone`.
    public func hasPassed(_ m: Moment, at now: Instant, in zone: ZoneID) -> Bool { now >= passes(m, in: zone) }

    /// When `m` plus `span` has passed: for a date, whole days of the span are calendar
    /// days (a daylight-saving day is 23 or 25 hours) and the date passes at the end of
    /// the day reached; an instant simply moves by the span.
    public func passes(_ m: Moment, after span: Span, in zone: ZoneID) -> Instant {
        switch m {
        case .instant: after(m, span, in: zone)
        case .day(let d): after(.day(d.adding(days: 1)), span, in: zone)  // from the day's end
        }
    }

    /// `span` after the start of `m`: for a date, from the day's start in `zone`, with
    /// whole days counted as calendar days.
    public func after(_ m: Moment, _ span: Span, in zone: ZoneID) -> Instant {
        switch m {
        case .instant(let i):
            return i + span
        case .day(let d):
            let (days, rest) = Self.split(span)
            return start(of: d.adding(days: days), in: zone) + rest
        }
    }

    /// Whether `a` is later than `b` for a customer in `zone`: two dates, a later day;
    /// two instants, a later instant; an instant against a date, after the day's end; a
    /// date against an instant, a day that begins after it.
    public func isLater(_ a: Moment, than b: Moment, in zone: ZoneID) -> Bool {
        switch (a, b) {
        case (.instant(let x), .instant(let y)): x > y
        case (.day(let x), .day(let y)): x > y
        case (.instant(let x), .day(let y)): x >= start(of: y.adding(days: 1), in: zone)
        case (.day(let x), .instant(let y)): start(of: x, in: zone) > y
        }
    }

    /// `a / b` rounded down, without overflow (b > 0).
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return a % b < 0 ? q - 1 : q
    }

    /// Whether two times name the same moment as the decisions store it: equal, or a date
    /// and the instant that is its start in `policy.timezone` (how releases before 0.2
    /// stored a bare date, and how a feed that writes midnight as a timestamp spells it).
    /// A record repeating such a time changes nothing.
    public func same(_ a: Moment, _ b: Moment) -> Bool {
        switch (a, b) {
        case (.day(let d), .instant(let i)), (.instant(let i), .day(let d)): start(of: d) == i || legacyMidnight(of: d) == i
        default: a == b
        }
    }

    /// Where releases before 0.2 put a bare date: the offset at UTC midnight, corrected
    /// once (in a gap at midnight this lands before the day; `DateMigration` reads it back).
    public func legacyMidnight(of day: CalendarDay) -> Instant {
        let name = policyZone
        let utc = Span.saturating(day.number, 86_400)
        let o = offset(name, utc)
        return Instant(milliseconds: Span.saturating(utc &- offset(name, utc &- o), 1000))
    }

    /// Whole days and the rest of a span (the rest is never negative).
    static func split(_ span: Span) -> (days: Int64, rest: Span) {
        let dayMs: Int64 = 86_400_000
        var days = span.milliseconds / dayMs
        var rest = span.milliseconds % dayMs
        if rest < 0 { days -= 1; rest += dayMs }
        return (days, Span(milliseconds: rest))
    }
}
