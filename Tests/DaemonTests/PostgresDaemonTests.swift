import BackorderCore
import Foundation
import TestSupport
import Testing

/// The real binary on PostgreSQL beside the same binary on SQLite: the same change files
/// give the same decisions (positions, lines, purchase orders, file offsets, row for
/// row), the same last word to each customer on each order (id and body byte for byte),
/// no id with two bodies, no dead letter; the support commands read it; the server going
/// away for a while loses nothing. Which intermediate messages were queued, and which of
/// those a later one replaced before they went out, depends on checkpoint and delivery
/// timing on either backend, so they are not compared.
@Suite struct PostgresDaemonTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// A config with two endpoints (customers, staff) at `url`, on the backend of `probe`.
    static func config(_ root: TempDirectory, url: String, probe: StateProbe) throws -> String {
        let cfg = try BinaryTests.config(root, extra: "batch_lines = 50", state: probe.configLines + "checkpoint_records = 40")
        try Files.write(cfg, Files.read(cfg) + """

            [delivery]
            initial_backoff = "100ms"
            [[endpoints]]
            name = "email"
            url = "\(url)/email"
            secret = "\(secret)"
            events = \(EventType.all.filter { $0.hasPrefix("backorder.") })
            [[endpoints]]
            name = "staff"
            url = "\(url)/staff"
            secret = "\(secret)"
            events = \(EventType.all.filter { $0.hasPrefix("stock.") })
            """)
        chmod(cfg, 0o600)
        return cfg
    }

    /// A few hundred records of every kind (stock, restocks with dates, backorders,
    /// closes), each with its `at`, in three files.
    static func files(seed: UInt64) -> [String] {
        var rng = SplitMix(seed: seed)
        let records = Script.steps((0..<600).map { _ in Int(rng.next() % 100_000) }, dates: true).compactMap { step -> String? in
            if case .record(let r) = step { return Script.jsonLine(r) }
            return nil
        }
        return stride(from: 0, to: records.count, by: 200).map { records[$0..<min($0 + 200, records.count)].joined(separator: "\n") + "\n" }
    }

    /// Runs the daemon on `backend` over the files until every message is delivered;
    /// returns what the receiver got (path, id, body; sorted) and the state's rows.
    static func run(_ backend: TestBackend, files: [String]) async throws -> (received: [String], state: [String], probe: StateProbe,
                                                                            root: TempDirectory, cfg: String) {
        // Nothing is accepted (503: retried) until every file is decided: what a later
        // decision replaces is then the same in every run, whatever the timing.
        let open = Flag()
        let receiver = ScriptedReceiver(secret: secret) { _, r in open.accept("\(r.path) \(r.id) \(String(decoding: r.body, as: UTF8.self))") ? .status(204) : .status(503) }
        let url = try await receiver.start()
        let root = TempDirectory("e2e-\(backend)")
        let probe = try StateProbe(backend, stateDirectory: root.path + "/state")
        let cfg = try config(root, url: url, probe: probe)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        for (i, text) in files.enumerated() {
            try Files.drop(root.sub("inbox") + "/part-\(i).jsonl", text)
            try await eventually(timeout: .seconds(60), "file \(i) applied") {
                probe.int("SELECT COUNT(*) FROM inbox_file WHERE name = 'part-\(i).jsonl' AND line = \(text.split(separator: "\n").count)") == 1
            }
        }
        open.set()
        try await eventually(timeout: .seconds(60), "every message delivered") {
            let waiting = probe.int("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')")
            return waiting == 0
        }
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0, "\(Files.read(log).suffix(2000))")
        await receiver.stop()
        #expect(receiver.received.allSatisfy { $0.signatureValid })
        let received = open.accepted.sorted()
        // Everything decided (times of the records, not of the run), and the queue.
        var state: [String] = []
        for sql in ["SELECT sku, location, on_hand, reserved, alert_armed, alerts_fired, alert_count, waiting_lines, open_restocks, updated_at FROM position ORDER BY sku, location",
                    "SELECT order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status, customer_id, projected_at, ready_at, long_wait_sent, deadline_at FROM order_line ORDER BY order_id, line",
                    "SELECT po, sku, location, quantity, expected_at, status FROM restock ORDER BY po, sku, location",
                    // What a checkpoint holds depends on timing (a failed one goes again with
                    // the next; one being written lets decisions gather), and with it which
                    // messages a later one replaced before they were queued; the last word on
                    // each order to each customer does not (staff stock alerts coalesce what
                    // one checkpoint holds, so theirs does).
                    "SELECT o.endpoint, o.order_key, o.webhook_id, o.type, b.body FROM outbox o JOIN outbox_body b ON b.id = o.id WHERE o.audience = 'customer' AND o.id = (SELECT MAX(id) FROM outbox p WHERE p.endpoint = o.endpoint AND p.order_key = o.order_key) ORDER BY o.endpoint, o.order_key",
                    #"SELECT name, "offset", line FROM inbox_file ORDER BY name"#] {
            state += try probe.rows(sql).map { $0.joined(separator: "|") }
        }
        return (received, state, probe, root, cfg)
    }

    @Test func theSameFilesGiveTheSameMessagesAndStateOnBothBackends() async throws {
        let files = Self.files(seed: 20261203)
        let sqlite = try await Self.run(.sqlite, files: files)
        let pg = try await Self.run(.postgres, files: files)
        #expect(sqlite.received.count > 30, "a scenario with messages: \(sqlite.received.count)")
        // An id arrives with one body whichever backend made it.
        var bodies: [String: String] = [:]
        for r in sqlite.received + pg.received {
            let parts = r.split(separator: " ", maxSplits: 2).map(String.init)
            if let b = bodies[parts[0] + " " + parts[1]] { #expect(b == parts[2], "\(parts[1]) differs") }
            bodies[parts[0] + " " + parts[1]] = parts[2]
        }
        if let d = zip(sqlite.state, pg.state).first(where: { $0 != $1 }) { Issue.record("SQLite:   \(d.0)\nPostgres: \(d.1)") }
        #expect(sqlite.state.count == pg.state.count)
        for run in [sqlite, pg] {
            #expect(run.probe.int("SELECT COUNT(*) FROM outbox WHERE state = 'dead'") == 0, "no dead letter on \(run.probe.backend)")
        }

        // The support commands on PostgreSQL say what they say on SQLite.
        let status = try await Binary.run(["status", "--config", pg.cfg])
        #expect(status.code == 0, "\(status.err)")
        let sqliteStatus = try await Binary.run(["status", "--config", sqlite.cfg])
        // The lines and the positions waiting (the queue's counts depend on timing, above).
        func decided(_ s: String) -> String { String(s[..<(s.range(of: "\nendpoints:")?.lowerBound ?? s.endIndex)]) }
        #expect(decided(status.out) == decided(sqliteStatus.out))
        #expect(status.out.contains("pending 0, in flight 0"), "\(status.out)")
        let json = try await Binary.run(["status", "--config", pg.cfg, "--json"])
        #expect(json.code == 0 && json.out.contains("\"dead_letters\""), "\(json.err)")
        let someOrder = pg.state.first { $0.hasPrefix("O-") }.map { String($0.split(separator: "|")[0]) } ?? "O-0"
        let order = try await Binary.run(["order", someOrder, "--config", pg.cfg])
        #expect(order.code == 0 && order.out.contains(someOrder), "\(order.out)\(order.err)")
        let someID = String(pg.received[0].split(separator: " ")[1])
        let message = try await Binary.run(["message", someID, "--config", pg.cfg])
        #expect(message.code == 0 && message.out.contains(someID) && message.out.contains("delivered"), "\(message.out)\(message.err)")
        let dead = try await Binary.run(["dead-letters", "list", "--config", pg.cfg])
        #expect(dead.code == 0, "\(dead.err)")
        let replay = try await Binary.run(["replay", "--config", pg.cfg, "--now", "2026-12-01T00:00:00Z", "--json",
                                           pg.root.file("none.jsonl")].dropLast() + [Self.write(pg.root, "more.jsonl", files[0])])
        #expect(replay.code == 0, "\(replay.err)")
        let check = try await Binary.run(["check", "--connect", "--config", pg.cfg])
        #expect(check.code == 0 && check.out.contains("backorderd schema version 1"), "\(check.out)\(check.err)")
    }

    /// A SQLite state with messages waiting, copied with `migrate --from-sqlite`: the
    /// same `status`, the same waiting messages sent from PostgreSQL; a second copy and a
    /// second daemon on the database are refused.
    @Test func migrateCopiesASQLiteStateAndTheDaemonCarriesOnFromIt() async throws {
        let open = Flag()
        let receiver = ScriptedReceiver(secret: Self.secret) { _, r in open.accept(r.id) ? .status(204) : .status(503) }
        let url = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let root = TempDirectory("migrate")
        let cfg = try await DeliveryCrashTests.readyOrders(300, in: root, url: url, delivery: "initial_backoff = \"1s\"\nmax_backoff = \"2s\"")
        let sqlite = try StateProbe(.sqlite, stateDirectory: root.path + "/state")
        let first = try Binary.start(["run", "--config", cfg], logPath: root.file("sqlite.log"))
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(60), "decided, waiting (the receiver refuses)") {
            sqlite.int("SELECT COUNT(*) FROM outbox WHERE state = 'pending'") == 300
        }
        kill(first.processIdentifier, SIGTERM)
        await first.exited()
        let before = try await Binary.run(["status", "--json", "--config", cfg])
        let waiting = Set(try sqlite.rows("SELECT webhook_id FROM outbox WHERE state = 'pending'").map { $0[0] })

        let pg = try StateProbe(.postgres, stateDirectory: root.path + "/state")
        let pgCfg = root.file("pg.toml")
        try Files.write(pgCfg, Files.read(cfg).replacingOccurrences(of: "[state]\n", with: "[state]\n" + pg.configLines))
        chmod(pgCfg, 0o600)
        let migrate = try await Binary.run(["migrate", "--from-sqlite", root.path + "/state", "--config", pgCfg])
        #expect(migrate.code == 0 && migrate.out.contains("outbox: 300"), "\(migrate.out)\(migrate.err)")
        let after = try await Binary.run(["status", "--json", "--config", pgCfg])
        #expect(after.code == 0 && after.out == before.out, "the same status after the copy:\n\(before.out)\n\(after.out)\(after.err)")
        let again = try await Binary.run(["migrate", "--from-sqlite", root.path + "/state", "--config", pgCfg])
        #expect(again.code != 0 && again.err.contains("already holds a state"), "\(again.err)")

        open.set()
        let second = try Binary.start(["run", "--config", pgCfg], logPath: root.file("pg.log"))
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(60), "the waiting messages sent from PostgreSQL") {
            pg.int("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") == 300
        }
        #expect(open.accepted == waiting, "the same ids")
        // A second daemon on the same database is refused while the first runs.
        let otherRoot = TempDirectory("other")
        let other = otherRoot.file("other.toml")
        try Files.write(other, Files.read(pgCfg).replacingOccurrences(of: root.path, with: otherRoot.path))
        chmod(other, 0o600)
        let refused = try Binary.start(["run", "--config", other], logPath: otherRoot.file("refused.log"))
        defer { if refused.isRunning { kill(refused.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(30), "the second daemon exits") { !refused.isRunning }
        #expect(refused.terminationStatus != 0 && Files.read(otherRoot.file("refused.log")).contains("another backorderd is running"),
                "\(Files.read(otherRoot.file("refused.log")))")
        kill(second.processIdentifier, SIGTERM)
        await second.exited()
        #expect(second.terminationStatus == 0)
    }

    /// Set once, read from the receiver's tasks: what it accepted once set.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        private var taken: Set<String> = []
        var accepted: Set<String> { lock.withLock { taken } }
        func set() { lock.withLock { value = true } }
        /// Whether the receiver accepts now; what it accepts is kept.
        func accept(_ message: String) -> Bool {
            lock.withLock {
                if value { taken.insert(message) }
                return value
            }
        }
    }

    static func write(_ root: TempDirectory, _ name: String, _ text: String) throws -> String {
        let path = root.file(name)
        try Files.write(path, text)
        return path
    }

    /// The server stopped for 10 s while files arrive: the daemon says so, keeps what it
    /// decided, retries, and carries on when it is back — every message delivered once
    /// per endpoint with one body, no restart.
    @Test func theServerGoingAwayForTenSecondsLosesNothing() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let receiver = ScriptedReceiver(secret: Self.secret)
        let url = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let root = TempDirectory("away")
        let probe = try StateProbe(.postgres, stateDirectory: root.path + "/state", server: server)
        let cfg = try Self.config(root, url: url, probe: probe)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let files = Self.files(seed: 7)
        try Files.drop(root.sub("inbox") + "/part-0.jsonl", files[0])
        try await eventually(timeout: .seconds(60), "first file applied") {
            probe.appliedLines == Int64(files[0].split(separator: "\n").count)
        }
        try server.pause()
        // Files arrive while it is away: decided in memory, their checkpoints failing.
        try Files.drop(root.sub("inbox") + "/part-1.jsonl", files[1])
        try await Task.sleep(for: .seconds(5))
        try Files.drop(root.sub("inbox") + "/part-2.jsonl", files[2])
        try await Task.sleep(for: .seconds(5))
        #expect(p.isRunning, "the daemon waits for the server; it does not exit")
        try server.resume()
        do {
            try await eventually(timeout: .seconds(60), "every file applied after the server came back") {
                files.enumerated().allSatisfy { i, text in
                    probe.int("SELECT line FROM inbox_file WHERE name = 'part-\(i).jsonl'") == Int64(text.split(separator: "\n").count)
                }
            }
        } catch {
            Issue.record("\(error); the daemon's log ends:\n\(Files.read(log).suffix(4000))")
            throw error
        }
        do {
            try await eventually(timeout: .seconds(90), "every message delivered") {
                probe.int("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')") == 0
                    && Int64(Set(receiver.received.map { "\($0.path) \($0.id)" }).count) == probe.int("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
            }
        } catch {
            let states = try probe.rows("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            let distinct = Set(receiver.received.map { "\($0.path) \($0.id)" }).count
            Issue.record("outbox \(states); received \(receiver.received.count), distinct \(distinct)")
            throw error
        }
        #expect(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0)
        let text = Files.read(log)
        #expect(text.contains("event=store_error"), "the outage is logged")
        #expect(text.contains("event=postgres_reconnect"), "and the reconnection")
        // The same messages queued (ids, endpoints, bodies) as a daemon that never lost
        // its server; which of them were sent depends on timing (a message still waiting
        // when a later one replaces it is not sent), but every one sent was queued, with
        // that body, and every one marked delivered arrived.
        let clean = try await Self.run(.sqlite, files: files)
        // Customers' messages: staff stock alerts coalesce the changes of one checkpoint,
        // and the outage merged several into one.
        let last = "SELECT o.endpoint, o.order_key, o.webhook_id, b.body FROM outbox o JOIN outbox_body b ON b.id = o.id WHERE o.audience = 'customer' AND o.id = (SELECT MAX(id) FROM outbox p WHERE p.endpoint = o.endpoint AND p.order_key = o.order_key)"
        let lastWords = Set(try probe.rows(last).map { $0.joined(separator: "|") })
        let cleanLastWords = Set(try clean.probe.rows(last).map { $0.joined(separator: "|") })
        #expect(lastWords == cleanLastWords, "the last word on each order: \(lastWords.subtracting(cleanLastWords).count) differ")
        let queued = Set(try probe.rows("SELECT o.endpoint, o.webhook_id, b.body FROM outbox o JOIN outbox_body b ON b.id = o.id")
            .map { "/hook/\($0[0]) \($0[1]) \($0[2])" })
        let got = Set(receiver.received.map { "\($0.path) \($0.id) \(String(decoding: $0.body, as: UTF8.self))" })
        #expect(got.isSubset(of: queued), "\(got.subtracting(queued).prefix(2))")
        let delivered = Set(try probe.rows("SELECT endpoint, webhook_id FROM outbox WHERE state = 'delivered'").map { "/hook/\($0[0]) \($0[1])" })
        #expect(delivered == Set(got.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }), "every message marked delivered arrived")
    }
}
