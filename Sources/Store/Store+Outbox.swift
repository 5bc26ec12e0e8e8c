import BackorderCore
import Crypto
import GRDB
import Logging

extension Store {
    /// The webhook id of a notice: derived from the event, never from the attempt, so a
    /// replay of the same input gives the same id and receivers can deduplicate on it.
    public static func webhookID(_ notice: Notice) -> String {
        let digest = SHA256.hash(data: Array(notice.idSeed.utf8))
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("msg_".utf8)
        for b in digest.prefix(16) {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Renders each notice and queues one outbox row per subscribed endpoint. Returns
    /// the time spent rendering. Each notice's `event=notice` line goes into `logged`, for
    /// the caller to write once the transaction has committed: a checkpoint that fails
    /// is tried again with the next, and its notices must not be told twice.
    func enqueue(_ notices: [Notice], now: Instant, _ db: Database, logged: inout [Logger.Metadata]) throws -> Duration {
        let rules = self.rules  // once per transaction, not per notice
        guard !rules.subscriptions.isEmpty else { return .zero }
        var rendering = Duration.zero
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outbox (webhook_id, endpoint, order_key, type, line_keys, audience, zone, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id, endpoint) DO NOTHING
            """)
        let insertBody = try db.cachedStatement(sql: "INSERT INTO outbox_body (id, body) VALUES (?, ?)")
        for notice in notices {
            let targets = rules.endpoints(for: notice.type)
            guard !targets.isEmpty else { continue }
            let renderStart = ContinuousClock.now
            let body = Payload.body(notice, message: render(notice, with: rules))
            rendering += ContinuousClock.now - renderStart
            let id = Self.webhookID(notice)
            logged.append(["order": "\(notice.orderKey)", "type": "\(notice.type)", "webhook_id": "\(id)",
                           "lines": "\(notice.lineKeys.joined(separator: ","))",
                           "endpoints": "\(targets.map(\.endpoint).joined(separator: ","))"])
            let lineKeys = notice.lineKeys.joined(separator: "\u{1F}")
            var audience = "staff"
            var zone: String? = nil
            if case .customer(let c) = notice.content {
                audience = "customer"
                zone = c.recipient.timezone
            }
            for target in targets {
                let s = RawStatement(insert)
                var b = s
                b.bind(id)
                b.bind(target.endpoint)
                b.bind(notice.orderKey)
                b.bind(notice.type)
                b.bind(lineKeys)
                b.bind(audience)
                b.bind(zone)
                b.bind(now.milliseconds)
                b.bind(now.milliseconds)
                try b.run()
                // Already queued (a replay, or news that came back to what it was): the
                // existing message stands, and nothing it would have replaced is touched.
                guard db.changesCount == 1 else { continue }
                let rowID = db.lastInsertedRowID
                var bb = RawStatement(insertBody)
                bb.bind(rowID)
                bb.bindBlob(body)
                try bb.run()
                // Only a message that was really queued replaces older ones — never itself.
                try supersede(by: notice, endpoint: target.endpoint, keeping: rowID, db)
            }
        }
        return rendering
    }

    /// A notice's message text; a template that fails (the configuration check renders
    /// each one, so this is rare) falls back to the type, logged.
    func render(_ notice: Notice, with rules: Rules) -> RenderedMessage {
        do {
            return try rules.renderer.render(notice)
        } catch {
            logger.error("render_failed", metadata: ["order": "\(notice.orderKey)", "type": "\(notice.type)", "error": "\(error)"])
            return RenderedMessage(subject: notice.type, text: notice.type, sms: notice.type)
        }
    }

    /// An order's queued messages for one endpoint; walks the order's messages in
    /// `outbox_order` (a handful, history included).
    static let liveOfOrderSQL = """
        SELECT id, type, line_keys, state FROM outbox
        WHERE endpoint = ? AND order_key = ? AND state IN ('pending', 'in_flight')
        """

    private func supersede(by notice: Notice, endpoint: String, keeping newID: Int64, _ db: Database) throws {
        guard let rule = EventType(rawValue: notice.type)?.supersedes, !rule.types.isEmpty else { return }
        // Prepared once per connection: this runs for every queued message.
        var live = RawStatement(try db.cachedStatement(sql: Self.liveOfOrderSQL))
        live.bind(endpoint)
        live.bind(notice.orderKey)
        var replaced: [Int64] = []
        var newLines: Set<String>? = nil
        while try live.step() {
            let id = live.int(0)
            guard live.text(3) == "pending", id != newID,
                  let older = EventType(rawValue: live.text(1)), rule.types.contains(older) else { continue }
            if !rule.wholeOrder {
                if newLines == nil { newLines = Set(notice.lineKeys) }
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
            u.bind("superseded by \(notice.type)")
            u.bind(id)
            try u.run()
        }
    }
}
