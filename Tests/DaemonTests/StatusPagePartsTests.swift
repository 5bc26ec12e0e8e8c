import BackorderCore
@testable import Daemon
@testable import Store
import Testing

/// The status page's pure parts: the delivery window, the token, escaping and query parsing.
@Suite struct StatusPagePartsTests {
    @Test func theDeliveryWindowCountsTheLastHourOnly() {
        let w = DeliveryWindow()
        let t0 = Instant(milliseconds: 1_800_000_000_000)
        w.record(endpoint: "email", outcome: .delivered(status: 204), at: t0)
        w.record(endpoint: "email", outcome: .retry(reason: "http_503", after: nil), at: t0 + .minutes(30))
        w.record(endpoint: "sms", outcome: .permanent(reason: "http_410"), at: t0 + .minutes(59))
        var s = w.summary(at: t0 + .minutes(59))
        #expect(s["email"] == DeliveryWindow.Summary(delivered: 1, failed: 1, last: "http_503", lastAt: t0 + .minutes(30)))
        #expect(s["sms"]?.failed == 1 && s["sms"]?.last == "http_410")
        s = w.summary(at: t0 + .minutes(61))
        #expect(s["email"]?.delivered == 0 && s["email"]?.failed == 1, "the delivery an hour ago has left the window")
        // A slot reused an hour later starts from zero.
        w.record(endpoint: "email", outcome: .delivered(status: 200), at: t0 + .minutes(120))
        s = w.summary(at: t0 + .minutes(120))
        #expect(s["email"]?.delivered == 1 && s["email"]?.failed == 0 && s["email"]?.last == "200")
    }

    @Test func theOverviewIsReadAtMostOnceASecond() throws {
        let snapshots = OverviewSnapshots()
        var reads = 0
        func read(_ at: Instant) throws -> Instant {
            try snapshots.current(at: at) {
                reads += 1
                return OverviewSnapshots.Snapshot(overview: StatusReport(endpoints: [], deadLetters: reads, linesWaiting: 0, files: [], waiting: []),
                                                  rejects: [], fileSizes: [:], at: at)
            }.at
        }
        let t0 = Instant(milliseconds: 1_800_000_000_000)
        #expect(try read(t0) == t0)
        #expect(try read(t0 + Span(milliseconds: 999)) == t0, "reused within the second")
        #expect(reads == 1)
        #expect(try read(t0 + .seconds(1)) == t0 + .seconds(1), "read again after it")
        #expect(try read(Instant(milliseconds: t0.milliseconds - 5_000)) == Instant(milliseconds: t0.milliseconds - 5_000), "a clock that went back reads again")
        #expect(reads == 3)
    }

    @Test func theTokenIsComparedWholeAndNeverShown() {
        let t = BearerToken("0123456789abcdef-token")
        #expect(t.accepts(authorization: "Bearer 0123456789abcdef-token"))
        #expect(t.accepts(authorization: "bearer 0123456789abcdef-token"), "the scheme is case-insensitive")
        for wrong in [nil, "", "Bearer", "Bearer ", "Bearer 0123456789abcdef-toke", "Bearer 0123456789abcdef-tokenX",
                      "Basic 0123456789abcdef-token", "0123456789abcdef-token"] {
            #expect(!t.accepts(authorization: wrong), "\(wrong ?? "nil")")
        }
        #expect(!"\(t)".contains("0123"))
    }

    @Test func theDeadLetterPageSaysWhenItShowsOnlyTheNewest() {
        let rows = (0..<StatusPages.deadLetterRows).map {
            DeadLetter(webhookID: "msg_\($0)", endpoint: "sms", type: "backorder.ready", orderKey: "O-\($0)", attempts: 12,
                       lastError: "timeout", createdAt: Instant(milliseconds: Int64($0)))
        }
        let page = StatusPages.deadLetters(rows, total: 500, filter: ("sms", "", ""), endpoints: ["sms"], problem: nil,
                                           configOption: "", version: "test")
        #expect(page.contains("500 dead letters, the newest 200 shown. Requeue all 500: <code>backorderd dead-letters requeue --endpoint sms</code>"))
        let all = StatusPages.deadLetters(Array(rows.prefix(3)), total: 3, filter: ("", "", ""), endpoints: ["sms"], problem: nil,
                                          configOption: " --config /etc/b.toml", version: "test")
        #expect(all.contains("3 dead letters. Requeue all of them: <code>backorderd dead-letters requeue --config /etc/b.toml --all</code>"))
        #expect(all.contains("<code>backorderd dead-letters requeue --config /etc/b.toml msg_2</code>"))
    }

    @Test func valuesAreEscapedAndQueriesDecoded() {
        #expect(HTMLText.escape(#"<a href="x">'&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTMLText.urlEncode("O-1/2 ä") == "O-1%2F2%20%C3%A4")
        let q = StatusHandler.query("q=a+b%2Bc&since=2026-12-01T09%3A00%3A00Z&empty=&q=second&flag")
        #expect(q["q"] == "a b+c" && q["since"] == "2026-12-01T09:00:00Z" && q["empty"] == "" && q["flag"] == "")
        #expect(StatusPages.shellQuote("sms") == "sms" && StatusPages.shellQuote("my endpoint") == "'my endpoint'")
        #expect(StatusPages.shellQuote("it's") == #"'it'\''s'"#)
        let then = Instant(milliseconds: 1_000_000_000)
        #expect(StatusPages.age(then + .seconds(45), then) == "45s")
        #expect(StatusPages.age(then + .seconds(192), then) == "3m 12s")
        #expect(StatusPages.age(then + .minutes(125), then) == "2h 05m")
        #expect(StatusPages.age(then + .hours(76), then) == "3d 4h")
    }
}
