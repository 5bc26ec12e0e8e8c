import BackorderCore
import Foundation
import GRDB
import Store
import TestSupport
import Testing

/// Inputs that once crashed the daemon — and, being re-read after every restart, kept it
/// crashing under `Restart=on-failure`. Each runs the real binary, and again after a
/// restart: the daemon stays up, the bad input is refused or survived, the rest applies.
@Suite struct HostileInputTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    @Test func anAbsurdRetryAfterIsCappedNotFatal() async throws {
        // 9.3e15 seconds overflowed the milliseconds a span is kept in.
        let receiver = ScriptedReceiver(secret: Self.secret) { i, _ in
            i < 2 ? .status(503, headers: ["Retry-After": "9300000000000000"]) : .status(204)
        }
        let url = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let root = TempDirectory()
        let cfg = try await DeliveryCrashTests.readyOrders(1, in: root, url: url, delivery: """
            initial_backoff = "100ms"
            max_backoff = "1s"
            """)
        let log = root.file("daemon.log")
        let first = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(20), "the first 503") { Files.read(log).contains("event=retry_scheduled") }
        #expect(first.isRunning, "the daemon survives the header: \(Files.read(log))")
        // The next attempt is due within max_backoff, not in 295 million years.
        let next = try #require(Files.read(log).split(separator: "\n").first { $0.contains("event=retry_scheduled") })
        #expect(next.contains("reason=http_503"))
        // A restart re-reads the same message: it must not crash either.
        kill(first.processIdentifier, SIGKILL)
        await first.exited()
        let second = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(20), "delivered after the retries") { Files.read(log).contains("event=delivered") }
        #expect(second.isRunning)
        // Three attempts, or four when the first daemon sent its third before the kill
        // landed but could not record it (sent again, at least once, with the same id).
        let sent = receiver.received
        #expect((3...4).contains(sent.count) && Set(sent.map(\.id)).count == 1, "\(sent.map(\.id))")
        kill(second.processIdentifier, SIGTERM)
        await second.exited()
        #expect(second.terminationStatus == 0)
    }

    @Test func aQuantityThatWouldOverflowIsRejectedAndTheRestApplies() async throws {
        let root = TempDirectory()
        let cfg = try BinaryTests.config(root)
        let log = root.file("daemon.log")
        try Files.drop(root.sub("inbox") + "/a.jsonl", [
            #"{"type":"stock","sku":"X","on_hand":9223372036854775807}"#,  // past the record bound
            #"{"type":"stock","sku":"X","on_hand":1000000000000}"#,
            #"{"type":"stock","sku":"X","delta":1000000000000}"#,
            #"{"type":"stock","sku":"G","on_hand":7}"#,
            #"{"type":"backorder","order":"O","line":"1","sku":"Y","qty":4611686018427387904,"ordered_at":"2026-11-01","promised_at":"2026-12-01","customer":{"id":"C"}}"#,
            #"{"type":"stock","sku":"X","delta":-1000000000000}"#,
        ].joined(separator: "\n") + "\n")
        // Push X's on-hand up to the position bound with deltas, then one past it.
        var deltas = ""
        for _ in 0..<999 { deltas += #"{"type":"stock","sku":"X","delta":1000000000000}"# + "\n" }
        deltas += #"{"type":"stock","sku":"X","delta":1}"# + "\n"
        deltas += #"{"type":"stock","sku":"Z","on_hand":5}"# + "\n"
        try Files.drop(root.sub("inbox") + "/b.jsonl", deltas)
        for round in 0..<2 {  // the second run re-reads nothing and must start cleanly
            let p = try Binary.start(["run", "--config", cfg], logPath: log + "\(round)")
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            try await eventually(timeout: .seconds(30), "ready") { Files.read(log + "\(round)").contains("event=ready") }
            kill(p.processIdentifier, SIGTERM)
            await p.exited()
            #expect(p.terminationStatus == 0, "\(Files.read(log + "\(round)"))")
        }
        let text = Files.read(log + "0")
        #expect(text.contains("event=rejected file=a.jsonl:1 reason=\"field 'on_hand' must be at most 1000000000000"), "\(text)")
        #expect(text.contains("event=rejected file=a.jsonl:5 reason=\"field 'qty' must be at most"))
        #expect(text.contains("event=rejected file=b.jsonl:1000 reason=\"a delta of 1 takes on_hand of X@default"), "\(text)")
        #expect(Files.read(log + "1").contains("event=stopped records=0 rejected=0"), "nothing is read twice")
        #expect(!text.contains("file=a.jsonl:6"), "a negative delta within the bounds is applied")
        let store = try Store(directory: root.path + "/state")
        #expect(try store.position(PositionKey(sku: "X", location: "default"))?.onHand == QuantityLimit.position)
        #expect(try store.position(PositionKey(sku: "G", location: "default"))?.onHand == 7)
        #expect(try store.position(PositionKey(sku: "Z", location: "default"))?.onHand == 5, "the line after the refused one applies")
    }

    @Test func hugeDurationsAreAConfigProblemEverywhere() async throws {
        let root = TempDirectory()
        for (section, key, value) in [("delivery", "max_age", "999999999999999d"), ("inbox", "settle", "100000000000000h"),
                                      ("delivery", "timeout", "off"), ("policy", "long_wait", "36501d")] {
            let cfg = root.file("\(key).toml")
            let base = section == "inbox" ? "" : "settle = \"100ms\"\n"
            try Files.write(cfg, """
                [inbox]
                directory = "\(root.path)/inbox"
                \(base)\(section == "inbox" ? "\(key) = \"\(value)\"" : "")
                [state]
                directory = "\(root.path)/state"
                \(section == "inbox" ? "" : "[\(section)]\n\(key) = \"\(value)\"")
                """)
            let check = try await Binary.run(["check", "--config", cfg])
            #expect(check.code == 78, "\(key) = \(value): \(check.err)")
            #expect(check.err.contains("- \(section).\(key):"), "\(check.err)")
            // Started, not run to completion: a daemon that accepted the value would run on.
            let run = try Binary.start(["run", "--config", cfg], logPath: root.file("\(key).log"))
            defer { if run.isRunning { kill(run.processIdentifier, SIGKILL) } }
            try await eventually(timeout: .seconds(10), "run exits") { !run.isRunning }
            #expect(run.terminationStatus == 78, "run with \(key) = \(value) exits 78, which RestartPreventExitStatus= honours")
        }
    }

    @Test func aReloadWithAHugeDurationKeepsTheDaemonRunning() async throws {
        let root = TempDirectory()
        let cfg = try BinaryTests.config(root)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        try Files.write(cfg, Files.read(cfg) + "\n[delivery]\nmax_age = \"999999999999999d\"\n")
        kill(p.processIdentifier, SIGHUP)
        try await eventually("the reload refused") { Files.read(log).contains("key=delivery.max_age problem=") }
        try Files.drop(root.sub("inbox") + "/a.jsonl", #"{"type":"stock","sku":"S","on_hand":3}"# + "\n")
        try await eventually("still applying") {
            try DatabaseQueue(path: root.path + "/state/backorderd.sqlite").read { db in
                try Int.fetchOne(db, sql: "SELECT on_hand FROM position WHERE sku = 'S'")
            } == 3
        }
        #expect(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0)
    }

    @Test func settingFieldsIsLinearInTheirNumber() async throws {
        // A line of 90,000 keys once took 15 s: each key was searched among the ones
        // before it. Timed against itself in the same run: sixteen times the keys must cost
        // about sixteen times as much — a quadratic search costs 256 times; the bound of
        // 64 leaves room for a loaded machine and the table's growth.
        // The thread's own CPU time, not the wall clock: a busy machine that takes the
        // CPU away between the two measurements must not look like a quadratic search.
        func cpu() -> Duration {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
        }
        func cost(_ n: Int) -> Duration {
            var best = Duration.seconds(3600)
            for _ in 0..<3 {
                var fields = Fields()
                let start = cpu()
                for i in 0..<n { fields.set("k\(i)", .integer(Int64(i))) }
                best = min(best, cpu() - start)
            }
            return best
        }
        let small = cost(10_000)
        let large = cost(160_000)
        #expect(large / small < 64, "ratio \(large / small): 10,000 keys: \(small), 160,000 keys: \(large)")
        var fields = Fields()
        for i in 0..<90_000 { fields.set("k\(i)", .integer(Int64(i))) }
        fields.set("k5", .integer(-1))
        #expect(fields.count == 90_000)
        #expect(fields["k5"] == .integer(-1) && fields["k89999"] == .integer(89_999) && fields["nope"] == nil)
    }
}
