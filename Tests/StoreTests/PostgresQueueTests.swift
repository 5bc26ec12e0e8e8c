import BackorderCore
import Engine
import Foundation
import PostgresNIO
@testable import PostgresStore
import PropertyBased
@testable import Store
import TestSupport
import Testing

/// The dispatcher's queue on PostgreSQL against SQLite's: the same messages handed out
/// in the same order (per-order order included) through claims, retries, dead letters,
/// postponements and expired leases; and a claim that walks the pending index, never
/// the delivered history.
@Suite struct PostgresQueueTests {
    /// Drains both queues the same way — claims of `limit`, outcomes by turn — and
    /// returns what each handed out, in order: endpoint, webhook id, attempts, body.
    static func drain(_ q: any OutboxQueue, endpoints: [String], limit: Int, start: Instant) throws -> [String] {
        var out: [String] = []
        var now = start
        var turn = 0
        while turn < 200 {
            turn += 1
            var updates: [DeliveryUpdate] = []
            var any = false
            for e in endpoints {
                let claimed = try q.claim(endpoint: e, now: now, limit: limit, leaseUntil: now + .seconds(30))
                for (i, m) in claimed.enumerated() {
                    any = true
                    out.append("\(e)|\(m.webhookID)|\(m.attempts)|\(String(decoding: m.body, as: UTF8.self).count)")
                    switch (turn + i) % 5 {
                    case 0: updates.append(.retry(rowID: m.rowID, next: now + .seconds(1), error: "HTTP 503"))
                    case 1: updates.append(.postpone(rowID: m.rowID, until: now + .seconds(2)))
                    case 2 where m.attempts > 0: updates.append(.dead(rowID: m.rowID, error: "HTTP 410"))
                    case 3: break  // no answer: the lease runs out
                    default: updates.append(.delivered(rowID: m.rowID, at: now, status: 204))
                    }
                }
            }
            try q.record(updates, endpointErrors: updates.isEmpty ? [:] : ["email": "HTTP 503"], now: now)
            now = now + .seconds(31)
            _ = try q.reclaimExpiredLeases(now: now)
            if !any, try q.nextDue() == nil { break }
        }
        return out
    }

    @Test func bothQueuesHandOutTheSameMessagesInTheSameOrder() async throws {
        let gen = zip(Gen.int(in: 0...100_000).array(of: 1...60), Gen.int(in: 1...4))
        await propertyCheck(count: 15, input: gen) { codes, limit in
            // Off the cooperative pool: these calls wait on the server, and two tests
            // parked on the pool's two threads would starve every loopback receiver.
            for problem in await Problems.gather({ p in
                let root = TempDirectory()
                let steps = Script.steps(codes, dates: true)
                let sqlite = try DecisionStoreTests.store(root, "sqlite")
                try DecisionStoreTests.run(steps, cuts: [], into: sqlite)
                let pg = try PostgresParityTests.postgres("queue")
                try DecisionStoreTests.run(steps, cuts: [], engine: PostgresParityTests.engine(on: pg))
                let endpoints = DecisionStoreTests.subscriptions.map(\.endpoint)
                let a = try Self.drain(sqlite.store, endpoints: endpoints, limit: limit, start: Script.t0 + .days(60))
                let b = try Self.drain(pg, endpoints: endpoints, limit: limit, start: Script.t0 + .days(60))
                let d = PostgresParityTests.difference(a, b)
                p.check(d == nil, "\(d ?? "")")
                // Each message's state at the end (outbox rows: the eighth column).
                let states = { (rows: [String]) in rows.filter { $0.hasPrefix("msg_") }.map { $0.split(separator: "|", omittingEmptySubsequences: false)[7] } }
                try p.check(states(try PostgresParityTests.dump(sqlite.store)) == states(try PostgresParityTests.dump(pg)),
                        "the same messages delivered, dead and pending")
            }) { Issue.record("\(problem)") }
        }
    }

    /// What the support commands and the daemon's services do to the queue — dead
    /// letters listed, counted, requeued (also to another endpoint) and purged, a removed
    /// endpoint's messages made dead, retention — gives the same on both backends.
    @Test func deadLettersRemovedEndpointsAndRetentionAgreeWithSQLite() async throws {
        let gen = Gen.int(in: 0...100_000).array(of: 20...60)
        await propertyCheck(count: 10, input: gen) { codes in
            // Off the cooperative pool: these calls wait on the server, and two tests
            // parked on the pool's two threads would starve every loopback receiver.
            for problem in await Problems.gather({ p in
                let root = TempDirectory()
                let steps = Script.steps(codes, dates: true)
                let sqlite = try DecisionStoreTests.store(root, "sqlite")
                try DecisionStoreTests.run(steps, cuts: [], into: sqlite)
                let pg = try PostgresParityTests.postgres("support")
                try DecisionStoreTests.run(steps, cuts: [], engine: PostgresParityTests.engine(on: pg))
                let endpoints = DecisionStoreTests.subscriptions.map(\.endpoint)
                let start = Script.t0 + .days(60)
                try Self.expectTheSameReads(sqlite.store, pg, endpoints: endpoints, p)  // all pending
                _ = try Self.drain(sqlite.store, endpoints: endpoints, limit: 2, start: start)
                _ = try Self.drain(pg, endpoints: endpoints, limit: 2, start: start)
                let a = sqlite.store, b = pg
                try Self.expectTheSameReads(a, b, endpoints: endpoints, p)
                let all = DeadLetterFilter()
                try p.check(a.deadLetters(matching: all, newest: nil) == b.deadLetters(matching: all, newest: nil))
                try p.check(a.deadLetters(matching: all, newest: 2) == b.deadLetters(matching: all, newest: 2))
                let ready = DeadLetterFilter(endpoint: "email", type: "backorder.ready", since: Script.t0)
                try p.check(a.countDeadLetters(matching: ready) == b.countDeadLetters(matching: ready))
                let first = try a.deadLetters(matching: all, newest: nil).first.map { [$0.webhookID] }
                try p.check(a.requeueDeadLetters(first, matching: all, now: start, to: "email2")
                        == b.requeueDeadLetters(first, matching: all, now: start, to: "email2"))
                try p.check(a.requeueDeadLetters(nil, matching: DeadLetterFilter(endpoint: "staff"), now: start, to: nil)
                        == b.requeueDeadLetters(nil, matching: DeadLetterFilter(endpoint: "staff"), now: start, to: nil))
                try p.check(a.strandedMessages(configured: ["email"]) == b.strandedMessages(configured: ["email"]))
                try p.check(a.deadLetterRemoved(endpoint: "staff", now: start) == b.deadLetterRemoved(endpoint: "staff", now: start))
                try p.check(a.purgeDeadLetters(nil, matching: DeadLetterFilter(endpoint: "staff"))
                        == b.purgeDeadLetters(nil, matching: DeadLetterFilter(endpoint: "staff")))
                try p.check(a.pruneDelivered(before: start + .days(1), limit: 3) == b.pruneDelivered(before: start + .days(1), limit: 3))
                let d = PostgresParityTests.difference(try PostgresParityTests.dump(a), try PostgresParityTests.dump(b))
                p.check(d == nil, "\(d ?? "")")
            }) { Issue.record("\(problem)") }
        }
    }

    /// What a person sees — the report in both scopes, every order's story, every
    /// message with its attempts, the search — is the same on both backends.
    static func expectTheSameReads(_ a: Store, _ b: PostgresStore, endpoints: [String], _ p: Problems) throws {
        for scope in [StatusReport.Scope.indexed, .full] {
            for limit in [1, 50] {
                let ra = try a.report(endpoints: endpoints + ["quiet"], positions: limit, scope: scope)
                let rb = try b.report(endpoints: endpoints + ["quiet"], positions: limit, scope: scope)
                p.check(ra == rb, "report (\(scope), \(limit)):\nSQLite:   \(ra)\nPostgres: \(rb)")
            }
        }
        let ids = try PostgresParityTests.dump(a).filter { $0.hasPrefix("msg_") }.map { String($0.split(separator: "|")[0]) }
        let orders = try PostgresParityTests.dump(a).filter { $0.hasPrefix("msg_") }.map { String($0.split(separator: "|")[2]) }
        for order in Set(orders).sorted().prefix(12) + ["O-none"] {  // a dozen: each is a few statements
            let story = try a.orderStory(order, endpoints: endpoints)
            try p.check(story == (try b.orderStory(order, endpoints: endpoints)), "order \(order)")
            try p.check(a.searchOrders(order, endpoints: endpoints) == b.searchOrders(order, endpoints: endpoints))
        }
        for id in Set(ids).sorted().prefix(20) + ["msg_none"] {
            try p.check(a.message(id) == b.message(id), "message \(id)")
            try p.check(a.searchOrders(id, endpoints: endpoints) == b.searchOrders(id, endpoints: endpoints))
        }
    }

    /// Refused lines are kept with their raw bytes (not always UTF-8) and read back
    /// newest first, as `rejected.jsonl` gives them on SQLite.
    @Test func rejectsKeepTheirBytesAndReadBackAsOnSQLite() throws {
        let root = TempDirectory()
        let sqlite = try Store(directory: root.path + "/sqlite")
        let pg = try PostgresParityTests.postgres("rejects")
        let rejects = [Reject(file: "a.jsonl", line: 1, reason: "not JSON", raw: Array("{oops".utf8)),
                       Reject(file: "b \"c\".csv", line: 7, reason: "bad qty", raw: [0xFF, 0x00, 0x41, 0xC3]),
                       Reject(file: "a.jsonl", line: 9, reason: "too long", raw: [])]
        let checkpoint = StoredCheckpoint(rows: RowChanges(), messages: [], cursors: [], rejects: rejects, now: Script.t0)
        _ = try sqlite.write(checkpoint)
        _ = try pg.write(checkpoint)
        #expect(sqlite.recentRejects(limit: 2) == pg.recentRejects(limit: 2))
        #expect(pg.recentRejects(limit: 10).map(\.line) == [9, 7, 1])
        let raw = try pg.pages.query("SELECT raw FROM reject ORDER BY id").map { try $0.decode(ByteBuffer.self) }
        #expect(raw.map { Array($0.readableBytesView) } == rejects.map(\.raw))
    }

    @Test func aClaimWalksThePendingIndexNotTheDeliveredHistory() async {
        // Off the cooperative pool: it waits on the server (see PostgresQueueTests' property tests).
        for problem in await Problems.gather({ p in
            let pg = try PostgresParityTests.postgres("explain")
            try pg.writer.transaction { tx in
                try tx.query("""
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at, delivered_at)
                    SELECT 'msg_' || i, 'email', 'O-' || i, 'backorder.ready', 'delivered', i, i, i FROM generate_series(1, 100000) AS i
                    """)
                try tx.query("""
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at)
                    SELECT 'new_' || i, 'email', 'N-' || i, 'backorder.ready', 'pending', i, i FROM generate_series(1, 20) AS i
                    """)
            }
            try pg.writer.query("ANALYZE outbox")
            let plan = try pg.reader.transaction { tx -> String in
                try tx.query("SET LOCAL plan_cache_mode = force_generic_plan")
                try tx.query(PostgresQuery(unsafeSQL: "PREPARE claim (text, bigint, bigint, bigint) AS " + PostgresStore.claimSQL))
                let rows = try tx.query("EXPLAIN EXECUTE claim('email', 1000, 10, 2000)").map { try $0.decode(String.self) }
                try tx.query("DEALLOCATE claim")
                return rows.joined(separator: "\n")
            }
            p.check(plan.contains("outbox_pending"), "\(plan)")
            p.check(!plan.contains("Seq Scan on outbox"), "\(plan)")
            // And it works on that table: the twenty, oldest first, each once.
            let first = try pg.claim(endpoint: "email", now: Instant(milliseconds: 1000), limit: 15, leaseUntil: Instant(milliseconds: 2000))
            let second = try pg.claim(endpoint: "email", now: Instant(milliseconds: 1000), limit: 15, leaseUntil: Instant(milliseconds: 2000))
            p.check(first.map(\.webhookID) == (1...15).map { "new_\($0)" })
            p.check(second.map(\.webhookID) == (16...20).map { "new_\($0)" })
        }) { Issue.record("\(problem)") }
    }

    /// A claim costs what the queue holds, not what one order's history holds: a stock
    /// alert's key with 100,000 delivered messages, one pending behind them, measured
    /// by the pages the claim really reads (EXPLAIN ANALYZE, rolled back).
    @Test func aClaimReadsFewPagesWhateverAnOrdersHistory() async {
        // Off the cooperative pool: it waits on the server (see PostgresQueueTests' property tests).
        for problem in await Problems.gather({ p in
            let pg = try PostgresParityTests.postgres("history")
            try pg.writer.transaction { tx in
                try tx.query("""
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at, delivered_at)
                    SELECT 'old_' || i, 'staff', 'stock:A@store', 'stock.low', 'delivered', i, i, i FROM generate_series(1, 100000) AS i
                    """)
                try tx.query("""
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at)
                    VALUES ('new_1', 'staff', 'stock:A@store', 'stock.out', 'pending', 1, 1)
                    """)
            }
            try pg.writer.query("ANALYZE outbox")
            struct RolledBack: Error { var plan: String }
            var plan = ""
            do {
                try pg.dispatch.transaction { tx in
                    var b = PostgresBindings()
                    b.append("staff")
                    b.append(Int64(1000))
                    b.append(Int64(10))
                    b.append(Int64(2000))
                    let rows = try tx.query(PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, BUFFERS) " + PostgresStore.claimSQL, binds: b))
                    throw RolledBack(plan: try rows.map { try $0.decode(String.self) }.joined(separator: "\n"))
                }
            } catch let r as RolledBack {
                plan = r.plan
            }
            // Pages touched in all: "Buffers: shared hit=N read=M" on the top line.
            let top = plan.split(separator: "\n").first { $0.contains("Buffers:") } ?? ""
            let pages = top.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
            p.check(pages > 0 && pages < 200, "\(pages) pages read; the plan:\n\(plan)")
            try p.check(pg.claim(endpoint: "staff", now: Instant(milliseconds: 1000), limit: 10, leaseUntil: Instant(milliseconds: 2000))
                    .map(\.webhookID) == ["new_1"], "the explain changed nothing")
        }) { Issue.record("\(problem)") }
    }
}
