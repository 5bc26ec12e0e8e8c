import BackorderCore
import Foundation
import GRDB
import Engine
@testable import Store
import TestSupport
import Testing

@Suite struct StoreTests {
    func mode(_ path: String) -> mode_t {
        var st = stat()
        lstat(path, &st)
        return st.st_mode & 0o777
    }

    func batch(_ records: [BackorderCore.Record], line: Int64, offset: Int64, rejects: [Reject] = []) -> IngestBatch {
        IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 2), name: "a.jsonl", offset: offset, line: line),
                    records: records.enumerated().map { LocatedRecord(line: Int64($0.offset + 1), record: $0.element) },
                    rejects: rejects, readAt: Instant(milliseconds: 1_000))
    }

    @Test func createsAPrivateStateDirectory() throws {
        let root = TempDirectory()
        let dir = root.path + "/a/b/state"
        let store = try DecidingStore(directory: dir)
        _ = try store.apply(batch([.stock(StockChange(key: PositionKey(sku: "S", location: "L"), kind: .onHand(1)))], line: 1, offset: 10))
        #expect(mode(dir) == 0o700)
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
            #expect(mode(dir + "/" + f) == 0o600, "\(f)")
        }
    }

    @Test func upgradingAVersion1DatabaseKeepsQueuedBodies() throws {
        let root = TempDirectory()
        let dir = root.sub("state")
        do {
            let old = try DatabaseQueue(path: dir + "/" + Store.databaseName)
            try Schema.migrator(calendar: DayCalendar()).migrate(old, upTo: "v1-initial")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, body, created_at, next_attempt_at)
                    VALUES ('msg_1', 'email', 'O-1', 'backorder.ready', ?, 0, 0)
                    """, arguments: [Data("{\"a\":1}".utf8)])
            }
        }
        let store = try Store(directory: dir)
        let claimed = try store.claim(endpoint: "email", now: Instant(milliseconds: 1), limit: 10, leaseUntil: Instant(milliseconds: 100))
        #expect(claimed.map(\.webhookID) == ["msg_1"])
        #expect(claimed.first?.body == Array("{\"a\":1}".utf8))
        let columns = try store.writer.read { db in try db.columns(in: "outbox").map(\.name) }
        #expect(!columns.contains("body"))
    }

    @Test func anExpiredLeaseComesBackAndAClaimSkipsMessagesUnderWay() throws {
        let root = TempDirectory()
        let store = try Store(directory: root.sub("state"))
        try store.writer.write { db in
            for (i, order) in ["O-1", "O-2"].enumerated() {
                try db.execute(sql: """
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, created_at, next_attempt_at)
                    VALUES (?, 'email', ?, 'backorder.ready', 0, 0);
                    INSERT INTO outbox_body (id, body) VALUES (last_insert_rowid(), x'00');
                    """, arguments: ["msg_\(i)", order])
            }
        }
        let t = Instant(milliseconds: 1_000)
        #expect(try store.claim(endpoint: "email", now: t, limit: 1, leaseUntil: t + .seconds(10)).map(\.webhookID) == ["msg_0"])
        #expect(try store.claim(endpoint: "email", now: t, limit: 5, leaseUntil: t + .seconds(10)).map(\.webhookID) == ["msg_1"])
        #expect(try store.claim(endpoint: "email", now: t, limit: 5, leaseUntil: t + .seconds(10)).isEmpty)
        #expect(try store.reclaimExpiredLeases(now: t + .seconds(5)) == 0)
        #expect(try store.reclaimExpiredLeases(now: t + .seconds(11)) == 2)
        let again = try store.claim(endpoint: "email", now: t + .seconds(11), limit: 5, leaseUntil: t + .seconds(30))
        #expect(again.map(\.webhookID) == ["msg_0", "msg_1"])
    }

    /// The dispatcher runs these on every turn and every lease check: each must walk an
    /// index, never the outbox with its delivered history.
    @Test func deliveryQueriesWalkAnIndexNotTheHistory() throws {
        let root = TempDirectory()
        let store = try Store(directory: root.sub("state"))
        for sql in [Store.claimSQL, Store.reclaimSQL, Store.releaseSQL, Store.liveOfOrderSQL] {
            let plan = try store.writer.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql,
                                 arguments: StatementArguments(Array(repeating: "x", count: sql.filter { $0 == "?" }.count)))
                    .map { $0["detail"] as String }
            }
            for step in plan where step.hasPrefix("SCAN") || step.hasPrefix("SEARCH") {
                #expect(step.contains("USING INDEX") || step.contains("PRIMARY KEY"), "\(sql): \(step)")
            }
        }
    }

    /// Claims and deliveries update rows by the chunk of `Store.inChunk`; a batch of
    /// several chunks and a ragged end must leave no row behind or touched twice.
    @Test func claimsAndDeliveriesOfSeveralChunksTouchEveryRowOnce() throws {
        let root = TempDirectory()
        let store = try Store(directory: root.sub("state"))
        let n = Store.inChunk * 2 + 13
        try store.writer.write { db in
            for i in 0..<n + 5 {
                try db.execute(sql: """
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, created_at, next_attempt_at)
                    VALUES (?, 'email', ?, 'backorder.ready', 0, 0);
                    INSERT INTO outbox_body (id, body) VALUES (last_insert_rowid(), x'00');
                    """, arguments: ["msg_\(i)", "O-\(i)"])
            }
        }
        let t = Instant(milliseconds: 1_000)
        let claimed = try store.claim(endpoint: "email", now: t, limit: n, leaseUntil: t + .seconds(60))
        #expect(claimed.count == n)
        func states() throws -> [String: Int] {
            try store.writer.read { db in
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM outbox GROUP BY state").map { ($0[0], $0[1]) })
            }
        }
        #expect(try states() == ["in_flight": n, "pending": 5])
        try store.record(claimed.map { .delivered(rowID: $0.rowID, at: t + .seconds(1), status: 204) }, now: t + .seconds(1))
        #expect(try states() == ["delivered": n, "pending": 5])
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT attempts, delivered_at, lease_until FROM outbox WHERE state = 'delivered'")
        }
        #expect(rows.allSatisfy { $0[0] == 1 && $0[1] == 2_000 && ($0[2] as Int64?) == nil })
    }

    @Test func purgingADeadLetterRemovesItsBody() throws {
        let root = TempDirectory()
        let dir = root.sub("state")
        let store = try Store(directory: dir)
        try store.writer.write { db in
            try db.execute(sql: """
                INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at)
                VALUES ('msg_1', 'email', 'O-1', 'backorder.ready', 'dead', 0, 0);
                INSERT INTO outbox_body (id, body) VALUES (last_insert_rowid(), x'00');
                """)
        }
        #expect(try store.purgeDeadLetters(["msg_1"]).map(\.webhookID) == ["msg_1"])
        #expect(try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_body") } == 0)
    }

    @Test func tightensAnExistingOpenDirectory() throws {
        let root = TempDirectory()
        let dir = root.sub("state")
        chmod(dir, 0o755)
        _ = try Store(directory: dir)
        #expect(mode(dir) == 0o700)
    }

    @Test func refusesAStateDirectoryThatIsAFile() throws {
        let root = TempDirectory()
        try Files.write(root.file("state"), "x")
        #expect { try Store(directory: root.file("state")) } throws: { "\($0)".contains("is not a directory") }
    }

    @Test func commitsStateAndCursorTogetherAndReopens() throws {
        let root = TempDirectory()
        let dir = root.path + "/state"
        do {
            let store = try DecidingStore(directory: dir)
            let key = PositionKey(sku: "S", location: "L")
            _ = try store.apply(batch([
                .stock(StockChange(key: key, kind: .onHand(5))),
                .restock(RestockChange(po: "P", key: key, quantity: 3, expectedAt: .instant(Instant(milliseconds: 9)))),
                .backorder(BackorderLine(order: "O", line: "1", key: key, qty: 2, orderedAt: .instant(Instant(milliseconds: 1)),
                                         promisedAt: .instant(Instant(milliseconds: 2)),
                                         customer: Customer(id: "C", name: "Ana", email: "a@x.io", phone: "+1555", locale: "pt-BR", timezone: "Europe/Lisbon"))),
            ], line: 4, offset: 300, rejects: [Reject(file: "a.jsonl", line: 4, reason: "bad", raw: [0x61, 0xFF])]))
        }
        let store = try Store(directory: dir)
        #expect(try store.position(PositionKey(sku: "S", location: "L"))?.onHand == 5)
        #expect(try store.allRestocks().map(\.quantity) == [3])
        let line = try #require(try store.allLines().first)
        #expect(line.customer == Customer(id: "C", name: "Ana", email: "a@x.io", phone: "+1555", locale: "pt-BR", timezone: "Europe/Lisbon"))
        #expect(line.status == .ready, "5 on hand serve a line of 2")
        #expect(try store.cursors() == [FileCursor(id: FileID(device: 1, inode: 2), name: "a.jsonl", offset: 300, line: 4)])
        let rejected = Files.read(dir + "/rejected.jsonl")
        #expect(rejected.contains(#""reason":"bad""#))
        #expect(rejected.contains(#""raw_base64":"Yf8=""#))
        try store.forget([FileID(device: 1, inode: 2)])
        #expect(try store.cursors().isEmpty)
    }

    @Test func aFailedCheckpointLeavesNothingBehindInTheFile() throws {
        let root = TempDirectory()
        let store = try DecidingStore(directory: root.path + "/state")
        // A trigger that fails the transaction after the state rows are written.
        try store.store.writer.write { db in
            try db.execute(sql: """
                CREATE TRIGGER fail_cursor BEFORE INSERT ON inbox_file
                BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END
                """)
        }
        let key = PositionKey(sku: "S", location: "L")
        // Decided, so not an error for the inbox (it must not decide the batch again);
        // the checkpoint's transaction rolled back whole.
        _ = try store.apply(batch([.stock(StockChange(key: key, kind: .onHand(5)))], line: 1, offset: 10))
        #expect(try store.position(key) == nil)
        #expect(try store.cursors().isEmpty)
    }

    /// A checkpoint whose write failed stays in memory and goes with the next one, in
    /// order: nothing decided is lost, and the later value of a row wins.
    @Test func aFailedCheckpointGoesAgainWithTheNext() throws {
        let root = TempDirectory()
        let store = try DecidingStore(directory: root.path + "/state", checkpoints: CheckpointPolicy(records: 1, interval: .hours(1)))
        try store.store.writer.write { db in
            try db.execute(sql: """
                CREATE TRIGGER fail_cursor BEFORE INSERT ON inbox_file
                BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END
                """)
        }
        let key = PositionKey(sku: "S", location: "L")
        // Each batch is due for a checkpoint; the first two writes fail on the thread that writes them.
        _ = try store.ingest(batch([.stock(StockChange(key: key, kind: .onHand(5)))], line: 1, offset: 10))
        _ = try store.ingest(batch([.stock(StockChange(key: key, kind: .delta(2)))], line: 2, offset: 20))
        store.waitForCheckpoint()
        #expect(try store.position(key) == nil)
        #expect(try store.cursors().isEmpty)
        try store.store.writer.write { db in try db.execute(sql: "DROP TRIGGER fail_cursor") }
        _ = try store.ingest(batch([.stock(StockChange(key: key, kind: .delta(-1)))], line: 3, offset: 30))
        store.waitForCheckpoint()
        #expect(try store.position(key)?.onHand == 6, "all three batches, in order")
        #expect(try store.cursors().first?.line == 3)
        #expect(try store.cursors().first?.offset == 30)
    }

    /// A notice is logged once, when the checkpoint that queues it commits: a failed
    /// write tried again with the next one does not log it again.
    @Test func aNoticeIsLoggedOnceWhenCommitted() throws {
        let root = TempDirectory()
        let logs = LogLines()
        let store = try DecidingStore(directory: root.path + "/state", subscriptions: [Subscription(endpoint: "email", events: ["backorder.ready"])],
                              checkpoints: CheckpointPolicy(records: 1, interval: .hours(1)), logger: CapturingLogHandler.logger(logs))
        try store.store.writer.write { db in
            try db.execute(sql: """
                CREATE TRIGGER fail_cursor BEFORE INSERT ON inbox_file
                BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END
                """)
        }
        let key = PositionKey(sku: "S", location: "L")
        let line = BackorderCore.Record.backorder(BackorderLine(order: "O", line: "1", key: key, qty: 1, orderedAt: .instant(Instant(milliseconds: 1)),
                                                                promisedAt: .instant(Instant(milliseconds: 2)), customer: Customer(id: "C")))
        _ = try store.ingest(batch([line, .stock(StockChange(key: key, kind: .onHand(5)))], line: 2, offset: 20))
        _ = try store.ingest(batch([.stock(StockChange(key: key, kind: .onHand(6)))], line: 3, offset: 30))
        store.waitForCheckpoint()
        #expect(logs.all.filter { $0.contains("notice") && $0.contains("webhook_id") }.isEmpty, "nothing committed, nothing told: \(logs.all)")
        try store.store.writer.write { db in try db.execute(sql: "DROP TRIGGER fail_cursor") }
        _ = try store.ingest(batch([.stock(StockChange(key: key, kind: .onHand(7)))], line: 4, offset: 40))
        store.waitForCheckpoint()
        let told = logs.all.filter { $0.contains("notice") && $0.contains("webhook_id") }
        #expect(told.count == 1, "\(told)")
        #expect(try store.cursors().first?.line == 4)
    }

    @Test func migrationsAreNamedAndRunOnce() throws {
        let root = TempDirectory()
        let dir = root.path + "/state"
        _ = try Store(directory: dir)
        let store = try Store(directory: dir)
        let applied = try store.writer.read { db in try Schema.migrator(calendar: DayCalendar()).appliedIdentifiers(db) }
        #expect(applied.sorted() == ["v1-initial", "v2-outbox-body", "v3-outbox-order", "v4-status-page", "v5-delivery-attempts", "v6-no-deadline-index", "v7-calendar-dates", "v8-state-id", "v9-tail-fingerprint"])
        let journal = try store.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func retentionPrunesOldDeliveredAndSupersededOnlyInSmallTransactions() throws {
        let root = TempDirectory()
        let store = try Store(directory: root.sub("state"))
        // Made an hour apart, in id order: delivered, superseded, dead, pending, in turn.
        let states = ["delivered", "superseded", "dead", "pending"]
        try store.writer.write { db in
            for i in 0..<40 {
                try db.execute(sql: """
                    INSERT INTO outbox (webhook_id, endpoint, order_key, type, state, created_at, next_attempt_at)
                    VALUES (?, 'email', ?, 'backorder.ready', ?, ?, 0);
                    INSERT INTO outbox_body (id, body) VALUES (last_insert_rowid(), x'00');
                    INSERT INTO delivery_attempt (outbox_id, at, outcome, detail) VALUES (last_insert_rowid(), 0, 'retry', 'timeout');
                    """, arguments: ["msg_\(i)", "O-\(i)", states[i % 4], Int64(i) * 3_600_000])
            }
        }
        func count(_ sql: String) throws -> Int { try store.writer.read { db in try Int.fetchOne(db, sql: sql) ?? -1 } }
        // Everything made before hour 20: ids 0–19, of which 10 are delivered or superseded.
        let cut = Instant(milliseconds: 20 * 3_600_000)
        #expect(try store.pruneDelivered(before: cut, limit: 4) == 4, "a transaction deletes at most its limit")
        #expect(try store.pruneDelivered(before: cut, limit: 4) == 4)
        #expect(try store.pruneDelivered(before: cut, limit: 4) == 2)
        #expect(try store.pruneDelivered(before: cut, limit: 4) == 0)
        #expect(try count("SELECT COUNT(*) FROM outbox WHERE created_at < 72000000 AND state IN ('delivered', 'superseded')") == 0)
        #expect(try count("SELECT COUNT(*) FROM outbox WHERE created_at < 72000000") == 10, "dead letters and pending messages stay")
        #expect(try count("SELECT COUNT(*) FROM outbox WHERE created_at >= 72000000") == 20, "younger messages stay")
        #expect(try count("SELECT COUNT(*) FROM outbox_body") == 30, "bodies go with their messages")
        #expect(try count("SELECT COUNT(*) FROM delivery_attempt") == 30, "and so do their attempts")
        #expect(try store.pruneDelivered(before: Instant(milliseconds: 0), limit: 500) == 0)
    }

    @Test func aFailedCheckpointKeepsTheDecisionsForTheNextOneAndNeverRepeatsThem() throws {
        let root = TempDirectory()
        let store = try DecidingStore(directory: root.sub("state"))
        let key = PositionKey(sku: "S", location: "L")
        func batch(_ n: Int64, _ d: Int64) -> IngestBatch {
            IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: n, line: n),
                        records: [LocatedRecord(line: n, record: .stock(StockChange(key: key, kind: .delta(d))))],
                        readAt: Instant(milliseconds: 1_000))
        }
        // Every write of a cursor fails, as a full disk would make it.
        try store.store.writer.write { db in
            try db.execute(sql: "CREATE TRIGGER fail BEFORE INSERT ON inbox_file BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        let first = try store.apply(batch(1, 5))
        #expect(first.cursor.line == 1, "decided: the inbox reads on")
        #expect(try store.position(key) == nil, "nothing written")
        try store.store.writer.write { db in try db.execute(sql: "DROP TRIGGER fail") }
        _ = try store.apply(batch(2, 1))
        #expect(try store.position(key)?.onHand == 6, "both batches written once, the first not repeated")
        #expect(try store.cursors().first?.line == 2)
    }
}

/// Schema v7 reads back the dates the previous releases stored as instants.
@Suite struct DateMigrationTests {
    /// A calendar with a gap at midnight: clocks go from 00:00 (-04) to 01:00 (-03) at
    /// 04:00 UTC on 6 September 2026, as in Chile.
    static let santiago = DayCalendar(policyZone: "Gap", offset: { _, utc in utc >= 1_788_667_200 ? -10_800 : -14_400 })

    @Test func midnightsBecomeDatesAndOtherTimesStay() {
        let m = DateMigration(calendar: DayCalendar())
        #expect(m.converted(1_796_860_800_000) == Moment.day(CalendarDay(year: 2026, month: 12, day: 10)).raw)
        #expect(m.converted(1_796_860_800_001) == 1_796_860_800_001)
        #expect(m.converted(1_796_922_000_000) == 1_796_922_000_000, "17:00 UTC stays an instant")
    }

    @Test func aDateWhoseMidnightWasSkippedIsFoundToo() {
        let m = DateMigration(calendar: Self.santiago)
        let day = CalendarDay(year: 2026, month: 9, day: 6)
        let legacy = Self.santiago.legacyMidnight(of: day)
        #expect(legacy != Self.santiago.start(of: day), "the old formula lands before the day")
        #expect(m.converted(legacy.milliseconds) == Moment.day(day).raw)
        #expect(m.converted(Self.santiago.start(of: day).milliseconds) == Moment.day(day).raw)
    }
}

@Suite struct OverviewNextRestockTests {
    /// The next purchase order of a waiting position, when one is a date and one an
    /// instant: stored, every date sorts above every instant; the overview orders them
    /// as the decisions do (a date from its start in policy.timezone).
    @Test func aDateBeforeAnInstantIsTheNext() throws {
        let root = TempDirectory()
        let store = try DecidingStore(directory: root.path + "/state")
        let key = PositionKey(sku: "S", location: "L")
        let t0 = Instant(milliseconds: 1_796_083_200_000)  // 2026-12-01
        _ = try store.apply(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: 10, line: 3), records: [
            LocatedRecord(line: 1, record: .restock(RestockChange(po: "LATE", key: key, quantity: 1, expectedAt: .instant(t0 + .days(20))))),
            LocatedRecord(line: 2, record: .restock(RestockChange(po: "SOON", key: key, quantity: 1, expectedAt: .day(CalendarDay(year: 2026, month: 12, day: 5))))),
            LocatedRecord(line: 3, record: .backorder(BackorderLine(order: "O", line: "1", key: key, qty: 5, orderedAt: .instant(t0),
                                                                    promisedAt: .instant(t0 + .days(2)), customer: Customer(id: "C")))),
        ], rejects: [], readAt: t0))
        let waiting = try #require(try store.store.overview(endpoints: []).waiting.first)
        #expect(waiting.nextPO == "SOON")
        #expect(waiting.nextPOExpected == .day(CalendarDay(year: 2026, month: 12, day: 5)))
    }
}
