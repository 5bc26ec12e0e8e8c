/// A calendar date as a change file gives it (`2026-12-10`): a whole day, not a point
/// in time. Which instants it covers depends on the zone it is read in
/// (`DayCalendar`); the date itself never moves.
public struct CalendarDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01 in the proleptic Gregorian calendar.
    public var number: Int64

    public init(number: Int64) { self.number = number }

    public init(year: Int, month: Int, day: Int) {
        number = Int64(RFC3339.daysFromCivil(year: year, month: month, day: day))
    }

    /// Year, month and day; a day number beyond ±a billion days (never one a file can
    /// spell) is taken at that bound rather than trapping.
    public var civil: (year: Int, month: Int, day: Int) {
        RFC3339.civilFromDays(Int(min(max(number, -1_000_000_000), 1_000_000_000)))
    }

    public static func < (a: CalendarDay, b: CalendarDay) -> Bool { a.number < b.number }

    /// The date `days` later (earlier when negative), saturating rather than trapping.
    public func adding(days: Int64) -> CalendarDay {
        let (n, overflow) = number.addingReportingOverflow(days)
        return CalendarDay(number: overflow ? (days < 0 ? .min : .max) : n)
    }

    /// `2026-12-10`.
    public var description: String {
        let (y, m, d) = civil
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// `yyyymmdd` as one integer (20261210), the form `Moment` stores.
    var compact: Int64 {
        let (y, m, d) = civil
        return Int64(y) * 10_000 + Int64(m) * 100 + Int64(d)
    }
}
