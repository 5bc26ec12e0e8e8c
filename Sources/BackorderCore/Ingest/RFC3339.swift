/// Reads and writes RFC 3339 timestamps without Foundation's date formatters, which
/// are far too slow for an ingest path that parses millions of them.
public enum RFC3339 {
    /// The result of parsing a timestamp field.
    public enum Parsed: Equatable, Sendable {
        /// A full timestamp with an offset.
        case instant(Instant)
        /// A bare date (`2026-12-01`): a calendar date (`CalendarDay`), not an instant.
        case date(year: Int, month: Int, day: Int)
    }

    /// Parses `2026-12-01T09:00:00Z`, `2026-12-01T09:00:00.250+01:00`, or a bare `2026-12-01`.
    public static func parse<C: Collection>(_ bytes: C) -> Parsed? where C.Element == UInt8 {
        var it = Array(bytes)[...]
        func digits(_ n: Int) -> Int? {
            guard it.count >= n else { return nil }
            var v = 0
            for _ in 0..<n {
                let c = it.removeFirst()
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard it.first == c else { return false }
            it.removeFirst()
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        if it.isEmpty { return .date(year: year, month: month, day: day) }
        guard let sep = it.first, sep == 0x54 || sep == 0x74 || sep == 0x20 else { return nil }
        it.removeFirst()
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2),
              hour < 24, minute < 60, second <= 60
        else { return nil }
        var millis = 0
        if expect(0x2E) {
            var count = 0
            while let c = it.first, c >= 0x30, c <= 0x39 {
                it.removeFirst()
                if count < 3 { millis = millis * 10 + Int(c - 0x30) }
                count += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        var offsetMinutes = 0
        if expect(0x5A) || expect(0x7A) {
            offsetMinutes = 0
        } else if let sign = it.first, sign == 0x2B || sign == 0x2D {
            it.removeFirst()
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (sign == 0x2D ? -1 : 1)
        } else {
            return nil
        }
        guard it.isEmpty else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetMinutes * 60)
        return .instant(Instant(milliseconds: secs * 1000 + Int64(millis)))
    }

    /// Formats in UTC: `2026-12-01T09:00:00Z`, or `…T09:00:00.250Z` when there are milliseconds.
    public static func format(_ instant: Instant) -> String {
        let ms = instant.milliseconds
        let (secsQ, msR) = ms.quotientAndRemainder(dividingBy: 1000)
        let secs = msR < 0 ? secsQ - 1 : secsQ
        let millis = msR < 0 ? msR + 1000 : msR
        let (dayQ, secR) = secs.quotientAndRemainder(dividingBy: 86_400)
        let days = secR < 0 ? dayQ - 1 : dayQ
        let sod = secR < 0 ? secR + 86_400 : secR
        let (y, m, d) = civilFromDays(Int(days))
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
        out += "T" + pad(Int(sod / 3600), 2) + ":" + pad(Int(sod / 60 % 60), 2) + ":" + pad(Int(sod % 60), 2)
        if millis != 0 { out += "." + pad(Int(millis), 3) }
        return out + "Z"
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day number since 1970-01-01.
    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
