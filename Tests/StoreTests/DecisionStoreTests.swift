import BackorderCore
import Foundation
import GRDB
import PropertyBased
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

    static func store(_ root: TempDirectory, _ name: String = "state") throws -> Store {
        try Store(directory: root.path + "/" + name, decider: Decider(policy: policy),
                  grouper: Grouper(cancelLink: "https://shop.example.com/orders/{{order}}/cancel"), subscriptions: subscriptions)
    }

    struct Row: Equatable {
        var id: String, endpoint: String, type: String, state: String, body: String
    }

    static func outbox(_ s: Store) throws -> [Row] {
        try s.writer.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT webhook_id, endpoint, type, state, (SELECT body FROM outbox_body AS b WHERE b.id = o.id) AS body FROM outbox AS o ORDER BY id").map {
                Row(id: $0[0], endpoint: $0[1], type: $0[2], state: $0[3], body: String(decoding: $0[4] as Data, as: UTF8.self))
            }
        }
    }

    /// Applies steps, records in batches cut where `cuts` says.
    static func run(_ steps: [Script.Step], cuts: Set<Int>, into store: Store) throws {
        var batch: [LocatedRecord] = []
        var line: Int64 = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            try store.apply(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f.jsonl", offset: line, line: line),
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
                let readyLines = { (s: Store) throws -> Set<String> in
                    Set(try Self.outbox(s).filter { $0.type.hasSuffix("ready") && $0.endpoint == "email" }.flatMap { row -> [String] in
                        let json = try JSONSerialization.jsonObject(with: Data(row.body.utf8)) as! [String: Any]
                        let data = json["data"] as! [String: Any]
                        return (data["lines"] as! [[String: Any]]).map { "\(data["order"]!)/\($0["line"]!)" }
                    })
                }
                let stillReady = Set(try cut.allLines().filter { $0.status == .ready }.map { "\($0.key.order)/\($0.key.line)" })
                #expect(try stillReady.isSubset(of: readyLines(one)) && stillReady.isSubset(of: readyLines(cut)),
                        "every line that is ready was told so, however batched")
            } catch {
                Issue.record(error)
            }
        }
    }

    func backorder(_ order: String, line: String = "1", qty: Int64 = 1, promised: Instant) -> BackorderCore.Record {
        .backorder(BackorderLine(order: order, line: line, key: PositionKey(sku: "A", location: "store"), qty: qty,
                                 orderedAt: Script.t0, promisedAt: promised,
                                 customer: Customer(id: "C", name: "Ana", email: "ana@example.com", phone: "+15551234567")))
    }

    func apply(_ store: Store, _ records: [BackorderCore.Record], at: Instant = Script.t0) throws -> [Notice] {
        try store.applyBatch(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: 1, line: 1),
                                         records: records.map { LocatedRecord(line: 1, record: $0) }, readAt: at)).notices
    }

    @Test func aReadyMessageSupersedesAPendingDelay() throws {
        let root = TempDirectory()
        let store = try Self.store(root)
        let key = PositionKey(sku: "A", location: "store")
        _ = try apply(store, [backorder("O-1", promised: Script.t0 + .days(2)),
                              .restock(RestockChange(po: "P", key: key, quantity: 1, expectedAt: Script.t0 + .days(5)))])
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
        #expect(notices.map(\.type) == ["backorder.overdue"])
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
        #expect(try store.tick(now: due).map(\.type) == ["backorder.overdue"])
        _ = try apply(store, [backorder("O-1", promised: promised + .days(30))], at: due)
        _ = try apply(store, [backorder("O-1", promised: promised)], at: due)
        let again = try store.tick(now: due + .hours(1))
        #expect(again.map(\.type) == ["backorder.overdue"])
        #expect(again.first.map(Store.webhookID) == (try Self.outbox(store)).first?.id, "the same news, the same id")
        let rows = try Self.outbox(store)
        #expect(rows.map(\.type) == ["backorder.overdue"], "one message: the repeat was not queued twice")
        #expect(rows.map(\.state) == ["pending"], "and the one queued is still to be sent")
    }
}
