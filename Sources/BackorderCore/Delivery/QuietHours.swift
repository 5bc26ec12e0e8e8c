/// A daily window in local time, such as `21:00-08:00` (it may wrap past midnight).
public struct QuietHours: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after midnight.
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public static func parse(_ s: String) -> QuietHours? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = minutes(parts[0]), let b = minutes(parts[1]), a != b else { return nil }
        return QuietHours(start: a, end: b)
    }

    private static func minutes(_ s: Substring) -> Int? {
        let hm = String(s).trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
              (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }

    /// Whether a local time of day (minutes after midnight) falls inside the window.
    public func contains(minuteOfDay m: Int) -> Bool {
        start < end ? (m >= start && m < end) : (m >= start || m < end)
    }

    public var description: String {
        func f(_ v: Int) -> String { (v / 60 < 10 ? "0" : "") + "\(v / 60):" + (v % 60 < 10 ? "0" : "") + "\(v % 60)" }
        return "\(f(start))-\(f(end))"
    }
}

extension QuietHours {
    /// If `now` falls in the window for a clock `offsetSeconds` ahead of UTC, the instant
    /// the window ends; nil when `now` is outside it.
    public func end(after now: Instant, offsetSeconds: Int) -> Instant? {
        let localSeconds = now.milliseconds / 1000 + Int64(offsetSeconds)
        let secondOfDay = Int(((localSeconds % 86_400) + 86_400) % 86_400)
        let minute = secondOfDay / 60
        guard contains(minuteOfDay: minute) else { return nil }
        var wait = end * 60 - secondOfDay
        if wait <= 0 { wait += 86_400 }
        return Instant(milliseconds: (now.milliseconds / 1000 + Int64(wait)) * 1000)
    }
}
