import BackorderCore
import PostgresNIO

/// Dead letters, removed endpoints and retention on PostgreSQL, as `Store` does them on
/// SQLite (the support commands' and the daemon's services' part of `OutboxStore`).
extension PostgresStore {
    /// The filter (and the ids, if any) as ` AND …` conditions, their values appended to `b`.
    static func clause(_ filter: DeadLetterFilter, ids: [String]?, _ b: inout PostgresBindings) -> String {
        var clause = ""
        func next() -> Int { b.count + 1 }
        if let ids {
            clause += " AND webhook_id = ANY ($\(next())::text[])"
            b.append(ids)
        }
        if let endpoint = filter.endpoint {
            clause += " AND endpoint = $\(next())"
            b.append(endpoint)
        }
        if let type = filter.type {
            clause += " AND type = $\(next())"
            b.append(type)
        }
        if let since = filter.since {
            clause += " AND created_at >= $\(next())"
            b.append(since.milliseconds)
        }
        return clause
    }

    static func deadLetter(_ row: PostgresRow) throws -> DeadLetter {
        let (webhookID, endpoint, type, order, attempts, lastError, created) =
            try row.decode((String, String, String, String, Int64, String?, Int64).self)
        return DeadLetter(webhookID: webhookID, endpoint: endpoint, type: type, orderKey: order, attempts: Int(attempts),
                          lastError: lastError, createdAt: Instant(milliseconds: created))
    }

    /// Dead letters, oldest first; with `newest`, only the newest that many (still oldest first).
    public func deadLetters(matching filter: DeadLetterFilter, newest: Int?) throws -> [DeadLetter] {
        var b = PostgresBindings()
        let select = "SELECT webhook_id, endpoint, type, order_key, attempts, last_error, created_at, id FROM outbox WHERE state = 'dead'"
            + Self.clause(filter, ids: nil, &b)
        let sql = newest.map { "SELECT * FROM (\(select) ORDER BY id DESC LIMIT \(max(0, $0))) AS n ORDER BY id" } ?? select + " ORDER BY id"
        return try pages.query(PostgresQuery(unsafeSQL: sql, binds: b)).map(Self.deadLetter)
    }

    public func countDeadLetters(matching filter: DeadLetterFilter) throws -> Int {
        var b = PostgresBindings()
        let sql = "SELECT COUNT(*) FROM outbox WHERE state = 'dead'" + Self.clause(filter, ids: nil, &b)
        return Int(try pages.query(PostgresQuery(unsafeSQL: sql, binds: b)).first?.decode(Int64.self) ?? 0)
    }

    /// Puts dead letters back in the queue, due now, with a fresh attempt count and age;
    /// with `to`, on that endpoint, except those it already has. Returns those requeued.
    public func requeueDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter, now: Instant, to: String?) throws -> [DeadLetter] {
        try pages.transaction { tx in
            var b = PostgresBindings()
            let select = "SELECT id, webhook_id, endpoint, type, order_key, attempts, last_error, created_at FROM outbox WHERE state = 'dead'"
                + Self.clause(filter, ids: ids, &b) + " ORDER BY id FOR UPDATE"
            var done: [DeadLetter] = []
            for row in try tx.query(PostgresQuery(unsafeSQL: select, binds: b)) {
                let (id, webhookID, endpoint, type, order, attempts, lastError, created) =
                    try row.decode((Int64, String, String, String, String, Int64, String?, Int64).self)
                let target = to ?? endpoint
                if target != endpoint,
                   try tx.query("SELECT EXISTS (SELECT 1 FROM outbox WHERE webhook_id = \(webhookID) AND endpoint = \(target))")
                    .first?.decode(Bool.self) == true { continue }
                try tx.query("""
                    UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = \(now.milliseconds), created_at = \(now.milliseconds),
                        last_error = NULL, endpoint = \(target) WHERE id = \(id)
                    """)
                done.append(DeadLetter(webhookID: webhookID, endpoint: target, type: type, orderKey: order, attempts: Int(attempts),
                                       lastError: lastError, createdAt: Instant(milliseconds: created)))
            }
            return done
        }
    }

    /// Deletes dead letters for good; returns those purged.
    public func purgeDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter) throws -> [DeadLetter] {
        var b = PostgresBindings()
        let sql = "DELETE FROM outbox WHERE state = 'dead'" + Self.clause(filter, ids: ids, &b)
            + " RETURNING webhook_id, endpoint, type, order_key, attempts, last_error, created_at, id"
        return try pages.query(PostgresQuery(unsafeSQL: sql, binds: b))
            .map { row in (try Self.deadLetter(row), try row.makeRandomAccess()[7].decode(Int64.self)) }
            .sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// Messages waiting (pending or in flight) for endpoints not in `configured`, per endpoint.
    public func strandedMessages(configured: Set<String>) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try pages.query("SELECT endpoint, COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') GROUP BY endpoint") {
            let (endpoint, n) = try row.decode((String, Int64).self)
            if !configured.contains(endpoint) { out[endpoint] = Int(n) }
        }
        return out
    }

    /// Makes the pending messages of a removed endpoint dead letters; returns how many.
    public func deadLetterRemoved(endpoint: String, now: Instant) throws -> Int {
        try pages.query("""
            UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = 'endpoint removed'
            WHERE endpoint = \(endpoint) AND state = 'pending'
            """).metadata.rows ?? 0
    }

    /// Deletes up to `limit` delivered or superseded messages made before `before`, with
    /// their bodies and attempts; returns how many. Dead letters and messages still to
    /// send are never touched.
    @discardableResult
    public func pruneDelivered(before: Instant, limit: Int) throws -> Int {
        try pages.query("""
            DELETE FROM outbox WHERE id IN (
                SELECT id FROM outbox WHERE state IN ('delivered', 'superseded') AND created_at < \(before.milliseconds)
                ORDER BY id LIMIT \(Int64(max(0, limit))))
            """).metadata.rows ?? 0
    }
}
