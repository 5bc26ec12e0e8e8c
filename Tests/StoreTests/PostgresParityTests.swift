import BackorderCore
import Engine
import Foundation
import GRDB
import PostgresNIO
@testable import PostgresStore
import PropertyBased
@testable import Store
import TestSupport
import Testing

/// The PostgreSQL backend against the SQLite one, on a real server (a throwaway cluster,
/// `PostgresServer`): the same records decided by the same engine give the same state
/// and the same messages — ids, bodies, and what replaced what — whichever stores them.
@Suite struct PostgresParityTests {
    static func postgres(_ name: String = "t") throws -> PostgresStore {
        let server = try PostgresServer.shared.get()
        return try PostgresStore(url: PostgresURL(parsing: try server.database(name)), calendar: DecisionStoreTests.policy.calendar)
    }

    static func engine(on store: any StateStore, checkpoints: CheckpointPolicy = CheckpointPolicy()) -> Engine {
        Engine(store: store, decider: Decider(policy: DecisionStoreTests.policy),
               grouper: Grouper(cancelLink: "https://shop.example.com/orders/{{order}}/cancel"),
               subscriptions: DecisionStoreTests.subscriptions, checkpoints: checkpoints)
    }

    /// Everything a backend keeps of the decisions, in key order: one list of queries
    /// for both backends (both take `"offset"` quoted).
    static func dumpQueries(queuedAt: Bool) -> [String] {
        ["""
         SELECT sku, location, on_hand, reserved, alert_armed, alerts_fired, alert_count, waiting_lines, open_restocks, updated_at
         FROM position ORDER BY sku, location
         """,
         """
         SELECT order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status, customer_id, customer_name,
             customer_email, customer_phone, customer_locale, customer_timezone, projected_at, ready_at, long_wait_sent,
             deadline_at, updated_at FROM order_line ORDER BY order_id, line
         """,
         "SELECT po, sku, location, quantity, expected_at, status, updated_at FROM restock ORDER BY po, sku, location",
         """
         SELECT o.webhook_id, o.endpoint, o.order_key, o.type, o.line_keys, o.audience, o.zone, o.state, o.last_error,
             \(queuedAt ? "o.created_at" : "0"), b.body FROM outbox o JOIN outbox_body b ON b.id = o.id ORDER BY o.id
         """,
         #"SELECT name, "offset", line FROM inbox_file ORDER BY name"#]
    }

    /// The rows as comparable text, columns joined by `|`.
    static func dump(_ pg: PostgresStore, queuedAt: Bool = true) throws -> [String] {
        try dumpQueries(queuedAt: queuedAt).flatMap { sql in
            try pg.reader.query(PostgresQuery(unsafeSQL: sql)).map { row in
                row.makeRandomAccess().map(StateProbe.text).joined(separator: "|")
            }
        }
    }

    static func dump(_ s: Store, queuedAt: Bool = true) throws -> [String] {
        try dumpQueries(queuedAt: queuedAt).flatMap { sql in
            try s.writer.read { db in
                try GRDB.Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map(StateProbe.text).joined(separator: "|") }
            }
        }
    }

    /// The first row that differs (SQLite's, then PostgreSQL's), or nil: a short failure
    /// message instead of two whole dumps.
    static func difference(_ a: [String], _ b: [String]) -> String? {
        if let d = zip(a, b).first(where: { $0 != $1 }) { return "SQLite:   \(d.0)\nPostgres: \(d.1)" }
        return a.count == b.count ? nil : "SQLite has \(a.count) rows, PostgreSQL \(b.count)"
    }

    @Test func randomStreamsGiveTheSameStateAndMessagesOnBothBackends() async throws {
        let gen = zip(Gen.int(in: 0...100_000).array(of: 1...60), Gen.int(in: 0...60).array(of: 0...20))
        await propertyCheck(count: 25, input: gen) { codes, cutList in
            // Off the cooperative pool: these calls wait on the server, and two tests
            // parked on the pool's two threads would starve every loopback receiver.
            for problem in await Problems.gather({ p in
                let root = TempDirectory()
                let steps = Script.steps(codes, dates: true)
                let sqlite = try DecisionStoreTests.store(root, "sqlite")
                try DecisionStoreTests.run(steps, cuts: Set(cutList), into: sqlite)
                let pg = try Self.postgres()
                try DecisionStoreTests.run(steps, cuts: Set(cutList), engine: Self.engine(on: pg))
                let a = try Self.dump(sqlite.store), b = try Self.dump(pg)
                let d = Self.difference(a, b)
                p.check(d == nil, "\(d ?? "")")
            }) { Issue.record("\(problem)") }
        }
    }

    @Test func aRestartOnPostgresLoadsWhatTheCheckpointWroteAndDecidesOnTheSame() throws {
        // Half the stream, a new engine on the same database (a restart), the other half:
        // the same as the whole stream on SQLite at once.
        let steps = Script.steps(Array(stride(from: 7, to: 700_000, by: 9_973)), dates: true)
        let root = TempDirectory()
        let sqlite = try DecisionStoreTests.store(root, "sqlite")
        try DecisionStoreTests.run(steps, cuts: [], into: sqlite)
        let server = try PostgresServer.shared.get()
        let url = try PostgresURL(parsing: try server.database("restart"))
        let half = steps.count / 2
        do {
            let first = try PostgresStore(url: url, calendar: DecisionStoreTests.policy.calendar)
            try DecisionStoreTests.run(Array(steps[..<half]), cuts: [], engine: Self.engine(on: first))
        }
        let second = try PostgresStore(url: url, calendar: DecisionStoreTests.policy.calendar)
        let engine = Self.engine(on: second)
        #expect(try engine.loadState().positions > 0)
        try DecisionStoreTests.run(Array(steps[half...]), cuts: [], engine: engine)
        // The cursors differ (the second run counts its lines from 1 again); the rest must not.
        let a = try Self.dump(sqlite.store).dropLast(), b = try Self.dump(second).dropLast()
        let d = Self.difference(Array(a), Array(b))
        #expect(d == nil, "\(d ?? "")")
    }

    /// Names that an array literal or a comparison could mangle: quotes, backslashes,
    /// braces, commas, the word NULL, and "é" spelled two ways (canonically equivalent:
    /// whatever the engine makes of them, both backends must store the same).
    static let awkwardSteps: [Script.Step] = {
        let nfc = "Caf\u{E9}", nfd = "Cafe\u{301}"
        var steps: [Script.Step] = []
        for (i, name) in [nfc, nfd].enumerated() {
            let key = PositionKey(sku: name, location: "store, \"main\"")
            steps.append(.record(.backorder(BackorderLine(
                order: name + "-1", line: "1", key: key, qty: 1, orderedAt: .instant(Script.t0), promisedAt: .instant(Script.t0 + .days(2)),
                customer: Customer(id: "C\(i)", name: "\"Ann\\\" {x}, NULL \(name)", email: "NULL", phone: nil, timezone: "Europe/Paris")))))
            steps.append(.record(.stock(StockChange(key: key, kind: .onHand(1)))))
        }
        steps.append(.tick(Script.t0 + .days(30)))
        return steps
    }()

    @Test func awkwardNamesAreStoredByteForByteAsSQLiteStoresThem() throws {
        let root = TempDirectory()
        let sqlite = try DecisionStoreTests.store(root, "sqlite")
        try DecisionStoreTests.run(Self.awkwardSteps, cuts: [], into: sqlite)
        let pg = try Self.postgres()
        try DecisionStoreTests.run(Self.awkwardSteps, cuts: [], engine: Self.engine(on: pg))
        let a = try Self.dump(sqlite.store), b = try Self.dump(pg)
        let d = Self.difference(a, b)
        #expect(d == nil, "\(d ?? "")")
        #expect(a.contains { $0.contains("\"Ann\\\" {x}, NULL") }, "the name as written")
    }

    /// A checkpoint that fails (here a trigger) goes again with the next, merged: rows
    /// changed in both written once as they stand, nothing lost — as on SQLite, where
    /// nothing failed.
    @Test func aFailedCheckpointGoesAgainMergedWithTheNext() throws {
        let steps = Script.steps(Array(stride(from: 11, to: 400_000, by: 7_919)), dates: true)
        let root = TempDirectory()
        let sqlite = try DecisionStoreTests.store(root, "sqlite")
        try DecisionStoreTests.ingest(steps, into: sqlite)
        let pg = try Self.postgres()
        for sql in ["CREATE TABLE fail_now (x int)", "INSERT INTO fail_now VALUES (1)",
                    """
                    CREATE FUNCTION fail_cursor() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN IF EXISTS (SELECT 1 FROM fail_now) THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$
                    """,
                    "CREATE TRIGGER fail_cursor BEFORE INSERT OR UPDATE ON inbox_file FOR EACH ROW EXECUTE FUNCTION fail_cursor()"] {
            try pg.reader.query(PostgresQuery(unsafeSQL: sql))
        }
        let engine = Self.engine(on: pg, checkpoints: CheckpointPolicy(records: 5, interval: .hours(1)))
        var line: Int64 = 0
        for (i, step) in steps.enumerated() {
            if i == steps.count / 2 {
                #expect(try pg.reader.query("SELECT COUNT(*) FROM order_line").first?.decode(Int64.self) == 0, "every checkpoint so far failed")
                try pg.reader.query("DELETE FROM fail_now")  // the disk has room again
            }
            switch step {
            case .record(let r):
                line += 1
                _ = try engine.ingest(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f.jsonl", offset: line, line: line),
                                                  records: [LocatedRecord(line: line, record: r)], readAt: Script.t0))
            case .tick(let now):
                _ = try? engine.tick(now: now)  // written at once: fails while the trigger does
            }
        }
        try engine.flush(now: Script.t0)
        // A message is queued when its checkpoint is written: those that waited for the
        // failure to pass carry a later time, by design; everything else is the same.
        let d = Self.difference(try Self.dump(sqlite.store, queuedAt: false), try Self.dump(pg, queuedAt: false))
        #expect(d == nil, "\(d ?? "")")
    }

    @Test func theSchemaIsMigratedOnceAndANewerOneIsRefused() async throws {
        let server = try PostgresServer.shared.get()
        let url = try PostgresURL(parsing: try server.database("schema"))
        // Off the cooperative pool: the refusal waits ten seconds on the server.
        let outcome = await offPool { () -> (refused: String, versions: [Int], newer: String) in
            var refused = "", newer = "", versions: [Int] = []
            do {
                do {
                    let first = try PostgresStore(url: url)
                    // One daemon a database: a second is refused while the first holds it (after
                    // waiting ten seconds for it to go, as a restart after kill -9 would).
                    do { _ = try PostgresStore(url: url) } catch { refused = "\(error)" }
                    withExtendedLifetime(first) {}
                }
                do {
                    let again = try PostgresStore(url: url)  // the first gone: a second start, nothing to migrate
                    versions = try again.reader.query("SELECT version FROM schema_version ORDER BY version").map { try $0.decode(Int.self) }
                    try again.reader.query("INSERT INTO schema_version (version) VALUES (999)")
                }
                do { _ = try PostgresStore(url: url) } catch { newer = "\(error)" }
            } catch {
                newer = "unexpected: \(error)"
            }
            return (refused, versions, newer)
        }
        #expect(outcome.refused.contains("another backorderd is running"), "\(outcome.refused)")
        #expect(outcome.versions == PostgresSchema.versions.map(\.version))
        #expect(outcome.newer.contains("schema version 999, newer than this backorderd knows"), "\(outcome.newer)")
    }

    @Test func aURLWithAPasswordIsRefusedWithTheWayToGiveIt() throws {
        #expect(throws: PostgresURLError.self) { try PostgresURL(parsing: "postgresql://u:secret@db/backorderd") }
        #expect { try PostgresURL(parsing: "postgresql://u:secret@db/backorderd") } throws: {
            "\($0)".contains("password_credential") && !"\($0)".contains("secret")
        }
        #expect { try PostgresURL(parsing: "postgresql://u@db/x?sslmode=maybe") } throws: { "\($0)".contains("verify-full") }
        #expect { try PostgresURL(parsing: "mysql://u@db/x") } throws: { "\($0)".contains("postgresql://USER@HOST") }
        #expect(try PostgresURL(parsing: "postgresql://backorderd@db.internal/backorderd") ==
                PostgresURL(user: "backorderd", host: "db.internal", port: 5432, database: "backorderd", tls: .verifyFull))
    }

    @Test func anUnreachableServerIsSaidInAnOperatorsWords() throws {
        let port = try PostgresServer.shared.get().port + 1
        #expect { try PostgresStore(url: PostgresURL(parsing: "postgresql://u@127.0.0.1:\(port)/x?sslmode=disable")) } throws: {
            "\($0)".hasPrefix("cannot connect to postgresql://u@127.0.0.1:\(port)/x")
        }
    }
}
