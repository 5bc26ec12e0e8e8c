/// A time as a record gave it: an instant (`2026-12-10T17:00:00Z`) or a calendar date
/// (`2026-12-10`). Promises, purchase order arrivals and order dates may be either; the
/// rules that read them (`DayCalendar`) treat a date as the whole day in the right zone.
///
/// Stored as one integer (`raw`) in memory and in the state: an instant as its
/// milliseconds; a date as `Moment.dayTag + yyyymmdd` (`4000000000020261210`), which
/// reads as the date in any SQL shell and can never be an instant a file can spell
/// (RFC 3339 stops at year 9999, about 2.5e14 ms).
public enum Moment: Hashable, Sendable, CustomStringConvertible {
    case instant(Instant)
    case day(CalendarDay)

    /// Where dates start in the stored integer form.
    public static let dayTag: Int64 = 4_000_000_000_000_000_000

    /// The stored integer form (see the type's comment).
    public var raw: Int64 {
        switch self {
        case .instant(let i): min(max(i.milliseconds, -Self.dayTag + 1), Self.dayTag - 1)
        case .day(let d): Self.dayTag + d.compact
        }
    }

    /// Reads the stored integer form back.
    public init(raw: Int64) {
        if raw >= Self.dayTag {
            let c = raw - Self.dayTag
            // Only this type writes the form; a damaged value still reads as some date.
            let y = Int(min(c / 10_000, 999_999)), m = Int(c / 100 % 100), d = Int(c % 100)
            self = .day(CalendarDay(year: y, month: min(max(m, 1), 12), day: min(max(d, 1), 31)))
        } else {
            self = .instant(Instant(milliseconds: raw))
        }
    }

    public var instant: Instant? {
        if case .instant(let i) = self { return i }
        return nil
    }

    public var day: CalendarDay? {
        if case .day(let d) = self { return d }
        return nil
    }

    /// As webhook bodies and the support commands carry it: `2026-12-10` for a date,
    /// RFC 3339 in UTC for an instant.
    public var description: String {
        switch self {
        case .instant(let i): RFC3339.format(i)
        case .day(let d): d.description
        }
    }

    /// The part of a message id's seed that names this time: an instant's milliseconds
    /// (as before dates were kept as dates, so ids made from instants do not change),
    /// a date as itself.
    public var seed: String {
        switch self {
        case .instant(let i): String(i.milliseconds)
        case .day(let d): d.description
        }
    }

    /// An order that needs no zone, for choosing which of a message's dates to show
    /// (the latest expected, the earliest promised): a date counts from its start in UTC.
    /// Decisions never use it; they order through `DayCalendar`.
    public var displayOrder: Int64 {
        switch self {
        case .instant(let i): i.milliseconds
        case .day(let d): Span.saturating(d.number, 86_400_000)
        }
    }
}
