/// Parses and prints durations in the configuration syntax: an integer followed by
/// `ms`, `s`, `m`, `h` or `d` (`250ms`, `5s`, `10m`, `6h`, `21d`).
public enum SpanSyntax {
    private static let units: [(suffix: String, ms: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// The longest duration any setting accepts: 100 years. Longer ones are a typo, and
    /// past about 292 million years they would not fit the milliseconds they are kept in.
    public static let longest = Span.days(36_500)

    /// Returns nil when `text` is not a duration; the caller names the key. A duration
    /// too long to hold saturates (and is then longer than `longest`), it never traps.
    public static func parse(_ text: String) -> Span? {
        let trimmed = text.trimmingSpaces()
        guard let split = trimmed.firstIndex(where: { !$0.isASCII || !$0.isNumber }),
              split != trimmed.startIndex
        else { return nil }
        let digits = trimmed[..<split]
        let unit = trimmed[split...]
        guard digits.count <= 15, let value = Int64(digits),
              let factor = units.first(where: { $0.suffix == unit })?.ms
        else { return nil }
        return Span(milliseconds: Span.saturating(value, factor))
    }

    public static func format(_ span: Span) -> String {
        let ms = span.milliseconds
        if ms == 0 { return "0s" }
        for (suffix, factor) in units.reversed() where ms % factor == 0 {
            return "\(ms / factor)\(suffix)"
        }
        return "\(ms)ms"
    }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
