/// A point in time as whole milliseconds since the Unix epoch (UTC).
///
/// Portable (an integer in every store), cheap to compare, and free of any clock:
/// the decision core is given `now` as an `Instant`, it never reads one.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    /// Saturates at the ends of `Int64` rather than trapping: a time from outside
    /// (a receiver, a file) can be absurd, never fatal.
    public init(seconds: Int64) { self.milliseconds = Span.saturating(seconds, 1000) }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (lhs: Instant, rhs: Span) -> Instant {
        let (sum, overflow) = lhs.milliseconds.addingReportingOverflow(rhs.milliseconds)
        return Instant(milliseconds: overflow ? (rhs.milliseconds < 0 ? Int64.min : Int64.max) : sum)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Span {
        let (d, overflow) = lhs.milliseconds.subtractingReportingOverflow(rhs.milliseconds)
        return Span(milliseconds: overflow ? (lhs < rhs ? Int64.min : Int64.max) : d)
    }

    /// RFC 3339 in UTC, with milliseconds only when there are any: `2026-12-01T09:00:00Z`.
    public var description: String { RFC3339.format(self) }
}

/// A length of time in milliseconds, as configured (`250ms`, `5s`, `21d`).
///
/// The unit constructors saturate at the ends of `Int64` instead of trapping, so an
/// absurd `Retry-After` or duration is merely very long (and then clamped where used).
public struct Span: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func ms(_ ms: Int64) -> Span { Span(milliseconds: ms) }
    public static func seconds(_ s: Int64) -> Span { Span(milliseconds: saturating(s, 1000)) }
    public static func minutes(_ m: Int64) -> Span { Span(milliseconds: saturating(m, 60_000)) }
    public static func hours(_ h: Int64) -> Span { Span(milliseconds: saturating(h, 3_600_000)) }
    public static func days(_ d: Int64) -> Span { Span(milliseconds: saturating(d, 86_400_000)) }

    /// `value * factor`, or the nearest end of `Int64` when that does not fit.
    public static func saturating(_ value: Int64, _ factor: Int64) -> Int64 {
        let (v, overflow) = value.multipliedReportingOverflow(by: factor)
        guard overflow else { return v }
        return (value < 0) == (factor < 0) ? Int64.max : Int64.min
    }
    public static let zero = Span(milliseconds: 0)

    public static func < (lhs: Span, rhs: Span) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The shortest exact spelling in the configuration's syntax (`1500ms`, `90s`, `21d`).
    public var description: String { SpanSyntax.format(self) }

    /// The span as a Swift `Duration`, for sleeping and timeouts at the edges.
    public var duration: Duration { .milliseconds(milliseconds) }
}

extension Duration {
    /// Whole milliseconds, for logs and timeouts.
    public var milliseconds: Int64 {
        let (s, a) = components
        return s * 1000 + a / 1_000_000_000_000_000
    }

    /// Whole microseconds, for logs.
    public var microseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000 + a / 1_000_000_000_000
    }
}
