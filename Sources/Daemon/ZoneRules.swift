import BackorderCore
import Foundation
import Synchronization

/// The system's time-zone database, as the decision core takes it (`DayCalendar`), and
/// the record decoder that reads change files with it.
public enum ZoneRules {
    private static let calendars = Mutex<[String: DayCalendar]>([:])

    /// The calendar for `policy.timezone`, one per zone for the process (it keeps the
    /// day starts it has worked out). An unknown zone reads as UTC; `check` refuses it first.
    public static func calendar(timezone: String) -> DayCalendar {
        calendars.withLock { known in
            if let c = known[timezone] { return c }
            let c = DayCalendar(policyZone: timezone, offset: offset)
            known[timezone] = c
            return c
        }
    }

    /// Seconds east of UTC in a zone at a Unix time (UTC for a name the system does not know).
    @Sendable public static func offset(_ zone: String, _ utcSeconds: Int64) -> Int64 {
        guard let tz = zones.withLock({ known -> TimeZone? in
            if let z = known[zone] { return z }
            let z = TimeZone(identifier: zone)
            known[zone] = z
            return z
        }) else { return 0 }
        return Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcSeconds))))
    }

    private static let zones = Mutex<[String: TimeZone?]>([:])

    public static func decoder(timezone: String) -> RecordDecoder {
        RecordDecoder(calendar: calendar(timezone: timezone), isKnownTimeZone: { TimeZone(identifier: $0) != nil })
    }
}
