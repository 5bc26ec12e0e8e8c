import BackorderCore
import GRDB

extension Store {
    /// Queues each message once per endpoint that takes it, and marks what it replaces.
    func enqueue(_ messages: [QueuedMessage], now: Instant, _ db: Database) throws {
        guard !messages.isEmpty else { return }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outbox (webhook_id, endpoint, order_key, type, line_keys, audience, zone, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id, endpoint) DO NOTHING
            """)
        let insertBody = try db.cachedStatement(sql: "INSERT INTO outbox_body (id, body) VALUES (?, ?)")
        for m in messages {
            let lineKeys = m.lineKeys.joined(separator: "\u{1F}")
            for endpoint in m.endpoints {
                var b = RawStatement(insert)
                b.bind(m.webhookID)
                b.bind(endpoint)
                b.bind(m.orderKey)
                b.bind(m.type.rawValue)
                b.bind(lineKeys)
                b.bind(m.isCustomerMessage ? "customer" : "staff")
                b.bind(m.zone)
                b.bind(now.milliseconds)
                b.bind(now.milliseconds)
                try b.run()
                // Already queued (a replay, or news that came back to what it was): the
                // existing message stands, and nothing it would have replaced is touched.
                guard db.changesCount == 1 else { continue }
                let rowID = db.lastInsertedRowID
                var bb = RawStatement(insertBody)
                bb.bind(rowID)
                bb.bindBlob(m.body)
                try bb.run()
                // Only a message that was really queued replaces older ones — never itself.
                try supersede(by: m, endpoint: endpoint, keeping: rowID, db)
            }
        }
    }

    /// An order's queued messages for one endpoint; walks the order's messages in
    /// `outbox_order` (a handful, history included).
    static let liveOfOrderSQL = """
        SELECT id, type, line_keys, state FROM outbox
        WHERE endpoint = ? AND order_key = ? AND state IN ('pending', 'in_flight')
        """

    private func supersede(by m: QueuedMessage, endpoint: String, keeping newID: Int64, _ db: Database) throws {
        guard !m.replaces.isEmpty else { return }
        // Prepared once per connection: this runs for every queued message.
        var live = RawStatement(try db.cachedStatement(sql: Self.liveOfOrderSQL))
        live.bind(endpoint)
        live.bind(m.orderKey)
        var replaced: [Int64] = []
        var newLines: Set<String>? = nil
        while try live.step() {
            let id = live.int(0)
            guard live.text(3) == "pending", id != newID,
                  let older = EventType(rawValue: live.text(1)), m.replaces.contains(older) else { continue }
            if !m.wholeOrder {
                if newLines == nil { newLines = Set(m.lineKeys) }
                let lines = live.text(2).split(separator: "\u{1F}").map(String.init)
                guard lines.allSatisfy({ newLines!.contains($0) }) else { continue }
            }
            replaced.append(id)
        }
        live.reset()
        guard !replaced.isEmpty else { return }
        let update = try db.cachedStatement(sql: "UPDATE outbox SET state = 'superseded', last_error = ? WHERE id = ?")
        for id in replaced {
            var u = RawStatement(update)
            u.bind("superseded by \(m.type.rawValue)")
            u.bind(id)
            try u.run()
        }
    }
}
