import BackorderCore
import PropertyBased
import Testing

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2026-12-01T09:00:00Z", Int64(1_796_115_600_000)),
        ("2026-12-01T09:00:00.250Z", 1_796_115_600_250),
        ("2026-12-01T10:00:00+01:00", 1_796_115_600_000),
        ("2026-12-01t09:00:00z", 1_796_115_600_000),
        ("2026-12-01 09:00:00Z", 1_796_115_600_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T23:59:59-05:30", 1_709_270_999_000),
    ])
    func parsesTimestamps(text: String, ms: Int64) {
        #expect(RFC3339.parse(text.utf8) == .instant(Instant(milliseconds: ms)))
    }

    @Test func parsesBareDates() {
        #expect(RFC3339.parse("2026-12-01".utf8) == .date(year: 2026, month: 12, day: 1))
    }

    @Test(arguments: ["", "2026-13-01", "2026-02-30", "2025-02-29", "2026-12-01T25:00:00Z", "2026-12-01T09:00:00",
                      "2026-12-01T09:00Z", "26-12-01", "2026-12-01T09:00:00.Z", "2026-12-01T09:00:00Zjunk", "tomorrow"])
    func rejectsMalformed(text: String) {
        #expect(RFC3339.parse(text.utf8) == nil)
    }

    @Test func formatsUTC() {
        #expect(RFC3339.format(Instant(milliseconds: 1_796_115_600_000)) == "2026-12-01T09:00:00Z")
        #expect(RFC3339.format(Instant(milliseconds: 1_796_115_600_250)) == "2026-12-01T09:00:00.250Z")
        #expect(RFC3339.format(Instant(milliseconds: -1000)) == "1969-12-31T23:59:59Z")
    }

    @Test func formatThenParseIsIdentity() async {
        await propertyCheck(count: 500, input: Gen.int64(in: -2_000_000_000_000...4_000_000_000_000)) { ms in
            let i = Instant(milliseconds: ms)
            #expect(RFC3339.parse(RFC3339.format(i).utf8) == .instant(i))
        }
    }
}

@Suite struct SpanSyntaxTests {
    @Test(arguments: [("250ms", Int64(250)), ("5s", 5000), ("10m", 600_000), ("6h", 21_600_000), ("21d", 1_814_400_000), ("0s", 0)])
    func parses(text: String, ms: Int64) {
        #expect(SpanSyntax.parse(text) == Span(milliseconds: ms))
        #expect(SpanSyntax.parse(SpanSyntax.format(Span(milliseconds: ms))) == Span(milliseconds: ms))
    }

    @Test(arguments: ["", "5", "s", "5 s", "5x", "-5s", "1.5h", "5sec", "99999999999999999d"])
    func rejects(text: String) {
        #expect(SpanSyntax.parse(text) == nil)
    }
}
