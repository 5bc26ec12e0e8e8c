import BackorderCore
import Foundation
import GRDB
import PropertyBased
import Engine
@testable import Store
import TestSupport
import Testing

/// The decision pass wired into the store's transaction, against real SQLite files.
@Suite struct DecisionStoreTests {
    static let policy = DecisionPolicy(grace: .hours(12), longWait: .days(10), lowStockThreshold: 2)
    static let subscriptions = [
        Subscription(endpoint: "email", events: ["backorder.ready", "backorder.partially_ready", "backorder.delayed",
                                                 "backorder.overdue", "backorder.long_wait"]),
        Subscription(endpoint: "staff", events: ["stock.low", "stock.out", "stock.oversold"]),
    ]

    static func store(_ root: TempDirectory, _ name: String = "state", checkpoints: CheckpointPolicy = CheckpointPolicy()) throws -> DecidingStore {
        try DecidingStore(directory: root.path + "/" + name, decider: Decider(policy: policy),
                  grouper: Grouper(cancelLink: "https://shop.example.com/orders/{{order}}/cancel"), subscriptions: subscriptions,
                  checkpoints: checkpoints)
    }

    /// Feeds steps the daemon's way: a batch per record through `ingest` (checkpoints by
    /// the engine's policy), the clock's pass at each tick, a flush at the end.
    static func ingest(_ steps: [Script.Step], into store: DecidingStore, flush: Bool = true, firstLine: Int64 = 1) throws {
        var line: Int64 = firstLine - 1
        for step in steps {
            switch step {
            case .record(let r):
                line += 1
                _ = try store.ingest(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f.jsonl", offset: line, line: line),
                                                 records: [LocatedRecord(line: line, record: r)], readAt: Script.t0))
            case .tick(let now):
                try store.tick(now: now)
            }
        }
        if flush { try store.flush(now: Script.t0) }
    }

    struct Row: Equatable {
        var id: String, endpoint: String, type: String, state: String, body: String
    }

    static func outbox(_ s: DecidingStore) throws -> [Row] {
        try s.store.writer.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT webhook_id, endpoint, type, state, (SELECT body FROM outbox_body AS b WHERE b.id = o.id) AS body FROM outbox AS o ORDER BY id").map {
                Row(id: $0[0], endpoint: $0[1], type: $0[2], state: $0[3], body: String(decoding: $0[4] as Data, as: UTF8.self))
            }
        }
    }

    /// Applies steps, records in batches cut where `cuts` says.
    static func run(_ steps: [Script.Step], cuts: Set<Int>, into store: DecidingStore) throws {
        try run(steps, cuts: cuts, engine: store.engine)
    }

    /// The same, on any engine (whatever its backend).
    static func run(_ steps: [Script.Step], cuts: Set<Int>, engine store: Engine) throws {
        var batch: [LocatedRecord] = []
        var line: Int64 = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            _ = try store.apply(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f.jsonl", offset: line, line: line),
                                        records: batch, readAt: Script.t0))
            batch = []
        }
        for (i, step) in steps.enumerated() {
            switch step {
            case .record(let r):
                line += 1
                batch.append(LocatedRecord(line: line, record: r))
                if cuts.contains(i) { try flush() }
            case .tick(let now):
                try flush()
                try store.tick(now: now)
            }
        }
        try flush()
    }

    @Test func outcomeDoesNotDependOnBatchingAndReplayIsIdentical() async throws {
        let gen = zip(Gen.int(in: 0...100_000).array(of: 1...50), Gen.int(in: 0...60).array(of: 0...20))
        await propertyCheck(count: 40, input: gen) { codes, cutList in
            do {
                let root = TempDirectory()
                let steps = Script.steps(codes)
                let one = try Self.store(root, "one")
                try Self.run(steps, cuts: Set(0..<steps.count), into: one)
                let cut = try Self.store(root, "cut")
                try Self.run(steps, cuts: Set(cutList), into: cut)
                let again = try Self.store(root, "again")
                try Self.run(steps, cuts: Set(cutList), into: again)
                #expect(try one.allLines() == cut.allLines())
                #expect(try one.allPositions() == cut.allPositions())
                #expect(try one.allRestocks() == cut.allRestocks())
                #expect(try Self.outbox(cut) == Self.outbox(again), "replay from scratch gives the same ids and bodies")
                let readyLines = { (s: DecidingStore) throws -> Set<String> in
                    Set(try Self.outbox(s).filter { $0.type.hasSuffix("ready") && $0.endpoint == "email" }.flatMap { row -> [String] in
                        let json = try JSONSerialization.jsonObject(with: Data(row.body.utf8)) as! [String: Any]
                        let data = json["data"] as! [String: Any]
                        return (data["lines"] as! [[String: Any]]).map { "\(data["order"]!)/\($0["line"]!)" }
                    })
                }
                let stillReady = Set(try cut.allLines().filter { $0.status == .ready }.map { "\($0.key.order)/\($0.key.line)" })
                #expect(try stillReady.isSubset(of: readyLines(one)) && stillReady.isSubset(of: readyLines(cut)),
                        "every line that is ready was told so, however batched")
                try Self.expectOneTruth(cut, lines: cut.allLines())
            } catch {
                Issue.record(error)
            }
        }
    }

    /// The page's report (index figures only) and `status`'s (everything) say the same
    /// wherever both speak, and agree with the lines themselves.
    static func expectOneTruth(_ s: DecidingStore, lines: [OrderLine]) throws {
        let names = subscriptions.map(\.endpoint)
        let page = try s.store.report(endpoints: names, positions: 1_000, scope: .indexed)
        let full = try s.store.report(endpoints: names, positions: 1_000, scope: .full)
        let waiting = lines.filter { $0.status == .waiting }
        #expect(page.linesWaiting == waiting.count && full.lines?["waiting"] == waiting.count)
        #expect(full.lines?["ready"] == lines.filter { $0.status == .ready }.count)
        #expect(page.waiting == full.waiting)
        #expect(page.waiting.reduce(0) { $0 + $1.waitingLines } == Int64(waiting.count))
        #expect(page.waiting.reduce(0) { $0 + $1.waitingUnits } == waiting.reduce(0) { $0 + $1.qty })
        #expect(page.deadLetters == full.deadLetters && page.files == full.files)
        let rows = try outbox(s)
        for (p, f) in zip(page.endpoints, full.endpoints) {
            #expect(p.name == f.name && p.pending == f.pending && p.inFlight == f.inFlight && p.dead == f.dead)
            #expect(p.delivered == nil && p.superseded == nil)
            #expect(f.delivered == rows.filter { $0.endpoint == f.name && $0.state == "delivered" }.count)
            #expect(f.dead == rows.filter { $0.endpoint == f.name && $0.state == "dead" }.count)
            #expect(f.pending == rows.filter { $0.endpoint == f.name && $0.state == "pending" }.count)
            #expect(f.superseded == rows.filter { $0.endpoint == f.name && $0.state == "superseded" }.count)
        }
        // The same names here because every endpoint with messages is configured.
        #expect(page.endpoints.map(\.name) == full.endpoints.map(\.name))
        #expect(full.nextDeadline == waiting.compactMap(\.deadline).min())
    }

    @Test func checkpointPlacementNeverChangesADecision() async throws {
        let gen = Gen.int(in: 0...100_000).array(of: 1...60)
        await propertyCheck(count: 30, input: gen) { codes in
            do {
                let root = TempDirectory()
                let steps = Script.steps(codes)
                var stores: [DecidingStore] = []
                for n in [1, 7, 100_000] {
                    let s = try Self.store(root, "every-\(n)", checkpoints: CheckpointPolicy(records: n, interval: .hours(1)))
                    try Self.ingest(steps, into: s)
                    stores.append(s)
                }
                let reference = try Self.store(root, "apply")
                try Self.run(steps, cuts: Set(0..<steps.count), into: reference)
                for s in stores {
                    #expect(try s.allLines() == reference.allLines())
                    #expect(try s.allPositions() == reference.allPositions())
                    #expect(try s.allRestocks() == reference.allRestocks())
                    #expect(try Self.outbox(s) == Self.outbox(reference), "the same messages, ids and bodies")
                    #expect(try s.cursors().first?.line == reference.cursors().first?.line)
                }
            } catch {
                Issue.record(error)
            }
        }
    }

    /// With `dates`, promises and arrivals are partly calendar dates (stored as dates).
    @Test(arguments: [false, true])
    func aCrashBetweenCheckpointsRepeatsNothingAndLosesNothing(dates: Bool) async throws {
        let gen = zip(Gen.int(in: 0...100_000).array(of: 2...60), Gen.int(in: 0...1_000))
        await propertyCheck(count: 30, input: gen) { codes, at in
            do {
                let root = TempDirectory()
                let steps = Script.steps(codes, dates: dates)
                let crashAt = at % steps.count
                let policy = CheckpointPolicy(records: 5, interval: .hours(1))
                // The first process decides up to the crash; what it had not written is lost.
                do {
                    let first = try Self.store(root, "crash", checkpoints: policy)
                    try Self.ingest(Array(steps[..<crashAt]), into: first, flush: false)
                    // Killed here, the process had committed its write in flight or not (one
                    // SQLite transaction: all or nothing; "not" is the crash a record earlier).
                    // In one test process the thread writing it outlives the store, so wait
                    // for it: it must not land under the next store after that one has loaded.
                    first.waitForCheckpoint()
                }
                // The next one loads the checkpoint and re-reads from the stored cursor.
                let second = try Self.store(root, "crash", checkpoints: policy)
                // Everything after the last written record runs again: the records, and the
                // clock's passes (one that had run forced a checkpoint and runs again at the
                // same time, changing nothing; one that had not, runs now).
                let written = try second.cursors().first?.line ?? 0
                var line: Int64 = 0
                var resume = 0
                for (i, step) in steps.enumerated() where line < written {
                    if case .record = step {
                        line += 1
                        resume = i + 1
                    }
                }
                try Self.ingest(Array(steps[resume...]), into: second, firstLine: written + 1)
                let clean = try Self.store(root, "clean", checkpoints: policy)
                try Self.ingest(steps, into: clean)
                #expect(try second.allLines() == clean.allLines())
                #expect(try second.allPositions() == clean.allPositions())
                #expect(try second.allRestocks() == clean.allRestocks())
                #expect(try Self.outbox(second) == Self.outbox(clean), "no message lost, none made twice, same ids and bodies")
            } catch {
                Issue.record(error)
            }
        }
    }

    @Test func decisionsWaitInMemoryUntilTheCheckpoint() throws {
        let root = TempDirectory()
        let store = try Self.store(root, checkpoints: CheckpointPolicy(records: 3, interval: .hours(1)))
        let key = PositionKey(sku: "A", location: "store")
        _ = try store.ingest(batch(1, backorder("O-1", promised: Script.t0 + .days(2))))
        _ = try store.ingest(batch(2, .stock(StockChange(key: key, kind: .onHand(1)))))
        #expect(try Self.outbox(store).isEmpty && store.cursors().isEmpty, "decided, not yet written")
        #expect(try store.allLines().isEmpty)
        _ = try store.ingest(batch(3, .stock(StockChange(key: key, kind: .onHand(5)))))
        store.waitForCheckpoint()  // the third record started the checkpoint; it is written beside the decisions
        #expect(try Self.outbox(store).map(\.type) == ["backorder.ready"], "the third record makes the checkpoint")
        #expect(try store.cursors().first?.line == 3)
        _ = try store.ingest(batch(4, .stock(StockChange(key: key, kind: .onHand(0)))))
        store.waitForCheckpoint()
        #expect(try store.cursors().first?.line == 3)
        try store.flush(now: Script.t0)
        #expect(try store.cursors().first?.line == 4, "a flush writes what is left")
        #expect(try store.allPositions().first?.onHand == 0)
    }

    /// Customers leave memory at the checkpoint that writes them; a message made later
    /// reads its customer back from the row — as it was when the message was decided,
    /// even when a later record in the same checkpoint changes it.
    @Test func aMessageCarriesTheCustomerItsLineHadWhenDecided() throws {
        let root = TempDirectory()
        let store = try Self.store(root, checkpoints: CheckpointPolicy(records: 100_000, interval: .hours(1)))
        let key = PositionKey(sku: "A", location: "store")
        _ = try store.ingest(batch(1, backorder("O-1", promised: Script.t0 + .days(30))))
        try store.flush(now: Script.t0)
        #expect(try store.loadState().lines == 1)
        _ = try store.ingest(batch(2, .stock(StockChange(key: key, kind: .onHand(1)))))
        var moved = backorder("O-1", promised: Script.t0 + .days(30))
        if case .backorder(var b) = moved {
            b.customer = Customer(id: "C", name: "Bea", email: "bea@example.com")
            moved = .backorder(b)
        }
        _ = try store.ingest(batch(3, moved))
        try store.flush(now: Script.t0)
        let ready = try #require(try Self.outbox(store).first { $0.type == "backorder.ready" })
        #expect(ready.body.contains("ana@example.com") && !ready.body.contains("bea@example.com"), "\(ready.body)")
        #expect(try store.allLines().first?.customer?.email == "bea@example.com", "the row has the new customer")
        // A restart reads the state without customers; the next message reads Bea's back.
        let again = try Self.store(root, checkpoints: CheckpointPolicy(records: 100_000, interval: .hours(1)))
        _ = try again.ingest(batch(4, .order(OrderClose(order: "O-1", line: nil, status: .cancelled))))
        try again.flush(now: Script.t0)
        #expect(try again.allLines().first { $0.key.order == "O-1" }?.customer?.email == "bea@example.com",
                "a line written without its customer in memory keeps the one in its row")
    }

    /// One record as a batch of its own, at line `n` of one file.
    func batch(_ n: Int64, _ r: BackorderCore.Record) -> IngestBatch {
        IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: n, line: n),
                    records: [LocatedRecord(line: n, record: r)], readAt: Script.t0)
    }

    func backorder(_ order: String, line: String = "1", qty: Int64 = 1, promised: Instant) -> BackorderCore.Record {
        .backorder(BackorderLine(order: order, line: line, key: PositionKey(sku: "A", location: "store"), qty: qty,
                                 orderedAt: .instant(Script.t0), promisedAt: .instant(promised),
                                 customer: Customer(id: "C", name: "Ana", email: "ana@example.com", phone: "+15551234567")))
    }

    func apply(_ store: DecidingStore, _ records: [BackorderCore.Record], at: Instant = Script.t0) throws -> [Notice] {
        try store.applyBatch(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: 1, line: 1),
                                         records: records.map { LocatedRecord(line: 1, record: $0) }, readAt: at)).notices
    }

    @Test func aReadyMessageSupersedesAPendingDelay() throws {
        let root = TempDirectory()
        let store = try Self.store(root)
        let key = PositionKey(sku: "A", location: "store")
        _ = try apply(store, [backorder("O-1", promised: Script.t0 + .days(2)),
                              .restock(RestockChange(po: "P", key: key, quantity: 1, expectedAt: .instant(Script.t0 + .days(5))))])
        _ = try apply(store, [.stock(StockChange(key: key, kind: .onHand(1)))])
        let rows = try Self.outbox(store)
        #expect(rows.map(\.type) == ["backorder.delayed", "backorder.ready"])
        #expect(rows.map(\.state) == ["superseded", "pending"])
    }

    @Test func theClockFindsOverdueLinesAndTheNextDeadline() throws {
        let root = TempDirectory()
        let store = try Self.store(root)
        let promised = Script.t0 + .days(2)
        _ = try apply(store, [backorder("O-1", promised: promised)])
        #expect(try store.nextDeadline() == promised + .hours(12))
        #expect(try store.tick(now: promised).isEmpty)
        let notices = try store.tick(now: promised + .hours(12))
        #expect(notices.map(\.type.rawValue) == ["backorder.overdue"])
        #expect(try store.nextDeadline() == Script.t0 + .days(10), "the long wait is next")
        let body = try #require(try Self.outbox(store).first?.body)
        #expect(body.contains(#""expected_at":null"#))
        #expect(body.contains(#""cancel_url":"https://shop.example.com/orders/O-1/cancel""#))
    }

    @Test func bodiesHaveTheStandardWebhooksShape() throws {
        let root = TempDirectory()
        let store = try Self.store(root)
        _ = try apply(store, [backorder("O-1001", qty: 2, promised: Script.t0 + .days(2)),
                              .stock(StockChange(key: PositionKey(sku: "A", location: "store"), kind: .onHand(2)))])
        let row = try #require(try Self.outbox(store).first)
        #expect(row.id.hasPrefix("msg_") && row.id.count == 36)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(row.body.utf8)) as? [String: Any])
        #expect(json["type"] as? String == "backorder.ready")
        #expect(json["timestamp"] as? String == "2026-12-01T00:00:00Z")
        let data = try #require(json["data"] as? [String: Any])
        #expect(data["order"] as? String == "O-1001")
        let customer = try #require(data["customer"] as? [String: Any])
        #expect(customer["email"] as? String == "ana@example.com")
        let lines = try #require(data["lines"] as? [[String: Any]])
        #expect(lines.first?["qty"] as? Int == 2)
        #expect(lines.first?["promised_at"] as? String == "2026-12-03T00:00:00Z")
        let message = try #require(data["message"] as? [String: Any])
        #expect(Set(message.keys) == ["subject", "text", "sms"])
    }

    @Test func staffAlertsGoOnlyToStaffEndpoints() throws {
        let root = TempDirectory()
        let store = try Self.store(root)
        let key = PositionKey(sku: "A", location: "store")
        _ = try apply(store, [.stock(StockChange(key: key, kind: .onHand(5))), .stock(StockChange(key: key, kind: .onHand(0)))])
        let rows = try Self.outbox(store)
        #expect(rows.map(\.type) == ["stock.out"])
        #expect(rows.map(\.endpoint) == ["staff"])
        #expect(rows[0].body.contains(#""next_restock_at":null"#))
    }

    @Test func aRepeatedNoticeLeavesItsPendingTwinQueued() throws {
        // The same overdue news twice (a promise moved, then restored): the second has
        // the same webhook id, so its insert is skipped — and must not supersede the
        // first, still pending, leaving nothing to send.
        let root = TempDirectory()
        let store = try Self.store(root)
        let promised = Script.t0 + .days(2)
        _ = try apply(store, [backorder("O-1", promised: promised)])
        let due = promised + .hours(12)
        #expect(try store.tick(now: due).map(\.type.rawValue) == ["backorder.overdue"])
        _ = try apply(store, [backorder("O-1", promised: promised + .days(30))], at: due)
        _ = try apply(store, [backorder("O-1", promised: promised)], at: due)
        let again = try store.tick(now: due + .hours(1))
        #expect(again.map(\.type.rawValue) == ["backorder.overdue"])
        #expect(again.first.map(Engine.webhookID) == (try Self.outbox(store)).first?.id, "the same news, the same id")
        let rows = try Self.outbox(store)
        #expect(rows.map(\.type) == ["backorder.overdue"], "one message: the repeat was not queued twice")
        #expect(rows.map(\.state) == ["pending"], "and the one queued is still to be sent")
    }
}
