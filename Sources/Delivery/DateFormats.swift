import BackorderCore
import Foundation

/// The dates messages show, formatted per locale and time zone with styles made once
/// (a calendar date as that date, whatever the zone; an instant in the customer's zone):
/// `long` is the full date ("Tuesday, December 1, 2026"), `short` the month and day
/// ("Dec 1"). Results are kept too, as a burst of messages repeats the same few dates.
final class DateFormats: @unchecked Sendable {
    enum Style: Hashable { case long, short }

    private struct StyleKey: Hashable {
        var locale: String
        var zone: String
        var style: Style
    }

    private struct DateKey: Hashable {
        var style: StyleKey
        var milliseconds: Int64
    }

    private let lock = Lock()
    private var styles: [StyleKey: Date.FormatStyle] = [:]
    private var dates: [DateKey: String] = [:]
    private var zones: [String: TimeZone?] = [:]
    /// Formatted dates kept at most (a few hundred kilobytes), then started afresh.
    static let keep = 4_096

    func format(_ m: Moment, _ style: Style, locale: String, zone: TimeZone) -> String {
        switch m {
        case .instant(let i):
            return format(i, style, locale: locale, zone: zone)
        case .day(let d):
            // Noon UTC of the day, shown in UTC, is that day in every locale's calendar.
            return format(Instant(milliseconds: Span.saturating(d.number, 86_400_000) + 43_200_000), style, locale: locale, zone: utc)
        }
    }

    private let utc = TimeZone(identifier: "UTC")!

    func format(_ i: Instant, _ style: Style, locale: String, zone: TimeZone) -> String {
        let styleKey = StyleKey(locale: locale, zone: zone.identifier, style: style)
        let key = DateKey(style: styleKey, milliseconds: i.milliseconds)
        if let done = lock.withLock({ dates[key] }) { return done }
        let format = lock.withLock { () -> Date.FormatStyle in
            if let f = styles[styleKey] { return f }
            let loc = Locale(identifier: locale)
            let f = switch style {
            case .long: Date.FormatStyle(date: .complete, time: .omitted, locale: loc, timeZone: zone)
            case .short: Date.FormatStyle(locale: loc, timeZone: zone).month(.abbreviated).day()
            }
            styles[styleKey] = f
            return f
        }
        let text = Date(timeIntervalSince1970: TimeInterval(i.milliseconds) / 1000).formatted(format)
        lock.withLock {
            if dates.count >= Self.keep { dates.removeAll(keepingCapacity: true) }
            dates[key] = text
        }
        return text
    }

    /// A time zone by its IANA name, looked up once.
    func zone(named name: String) -> TimeZone? {
        lock.withLock {
            if let known = zones[name] { return known }
            let z = TimeZone(identifier: name)
            zones[name] = z
            return z
        }
    }
}
