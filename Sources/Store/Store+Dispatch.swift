import BackorderCore
import Foundation
import GRDB

extension Store: OutboxStore {
    public func claim(endpoint: String, now: Instant, limit: Int, leaseUntil: Instant) throws -> [OutboxMessage] {
        guard limit > 0 else { return [] }
        return try writer.write { db in try claim(endpoint: endpoint, now: now, limit: limit, leaseUntil: leaseUntil, db) }
    }

    public func exchange(record updates: [DeliveryUpdate], endpointErrors: [String: String], claim: [(endpoint: String, limit: Int)],
                         now: Instant, leaseUntil: Instant) throws -> [String: [OutboxMessage]] {
        guard !updates.isEmpty || !endpointErrors.isEmpty || !claim.isEmpty else { return [:] }
        return try writer.write { db in
            try record(updates, endpointErrors: endpointErrors, now: now, db)
            var out: [String: [OutboxMessage]] = [:]
            for (endpoint, limit) in claim where limit > 0 {
                out[endpoint] = try self.claim(endpoint: endpoint, now: now, limit: limit, leaseUntil: leaseUntil, db)
            }
            return out
        }
    }

    /// Due messages of one endpoint, oldest first, each only once every earlier message
    /// of its order has left the queue. `outbox_pending` walks only pending rows in id
    /// order (messages under way are not in it; an expired lease comes back through
    /// `reclaimExpiredLeases`); the earlier messages of an order are found in `outbox_order`.
    static let claimSQL = """
        SELECT id, webhook_id, order_key, type, (SELECT body FROM outbox_body AS b WHERE b.id = o.id),
            attempts, created_at, zone, audience FROM outbox AS o INDEXED BY outbox_pending
        WHERE endpoint = ? AND state = 'pending' AND next_attempt_at <= ?
          AND NOT EXISTS (
            SELECT 1 FROM outbox AS e
            WHERE e.endpoint = o.endpoint AND e.order_key = o.order_key AND e.id < o.id
              AND e.state IN ('pending', 'in_flight'))
        ORDER BY id LIMIT ?
        """

    func claim(endpoint: String, now: Instant, limit: Int, leaseUntil: Instant, _ db: Database) throws -> [OutboxMessage] {
            let st = try db.cachedStatement(sql: Self.claimSQL)
            var s = RawStatement(st)
            s.bind(endpoint)
            s.bind(now.milliseconds)
            s.bind(Int64(limit))
            var out: [OutboxMessage] = []
            while try s.step() {
                out.append(OutboxMessage(rowID: s.int(0), webhookID: s.text(1), endpoint: endpoint, orderKey: s.text(2), type: s.text(3),
                                         body: s.blob(4), attempts: Int(s.int(5)), createdAt: Instant(milliseconds: s.int(6)),
                                         zone: s.optionalText(7), isCustomerMessage: s.text(8) == "customer"))
            }
            s.reset()
            try updateEach(out.map(\.rowID), set: "state = 'in_flight', lease_until = ?", leaseUntil.milliseconds, db)
            return out
    }

    /// How many rows one `WHERE id IN (…)` statement updates at most, and its places.
    static let inChunk = 64
    private static let inPlaces = Array(repeating: "?", count: inChunk).joined(separator: ", ")

    /// Updates rows by id, up to `inChunk` per statement (unused places bound to NULL,
    /// which matches nothing): a statement per row cost twice SQLite's own work on it.
    /// `set` may hold one `?`, bound to `value`.
    func updateEach(_ ids: [Int64], set: String, _ value: Int64? = nil, _ db: Database) throws {
        guard !ids.isEmpty else { return }
        let st = try db.cachedStatement(sql: "UPDATE outbox SET \(set) WHERE id IN (\(Self.inPlaces))")
        var start = 0
        while start < ids.count {
            let chunk = ids[start ..< min(start + Self.inChunk, ids.count)]
            var u = RawStatement(st)  // resets and clears the bindings
            if let value { u.bind(value) }
            for id in chunk { u.bind(id) }
            try u.run()
            start += Self.inChunk
        }
    }

    public func record(_ updates: [DeliveryUpdate], endpointErrors: [String: String] = [:], now: Instant) throws {
        guard !updates.isEmpty || !endpointErrors.isEmpty else { return }
        try writer.write { db in try record(updates, endpointErrors: endpointErrors, now: now, db) }
    }

    func record(_ updates: [DeliveryUpdate], endpointErrors: [String: String], now: Instant, _ db: Database) throws {
            let retry = try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,
                    last_error = ? WHERE id = ?
                """)
            let dead = try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'dead', attempts = attempts + 1, lease_until = NULL, last_error = ? WHERE id = ?
                """)
            let postpone = try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL WHERE id = ?
                """)
            let attempt = try db.cachedStatement(sql: "INSERT INTO delivery_attempt (outbox_id, at, outcome, detail) VALUES (?, ?, ?, ?)")
            func log(_ id: Int64, _ at: Instant, _ outcome: String, _ detail: String) throws {
                var s = RawStatement(attempt)
                s.bind(id)
                s.bind(at.milliseconds)
                s.bind(outcome)
                s.bind(detail)
                try s.run()
            }
            // Deliveries, most of what is recorded, go by the chunk (one time per batch).
            var delivered: [Int64: [Int64]] = [:]
            for u in updates {
                switch u {
                case .delivered(let id, let at, let status):
                    delivered[at.milliseconds, default: []].append(id)
                    try log(id, at, "delivered", "HTTP \(status)")
                case .retry(let id, let next, let error):
                    try log(id, now, "retry", error)
                    var s = RawStatement(retry)
                    s.bind(next.milliseconds)
                    s.bind(error)
                    s.bind(id)
                    try s.run()
                case .dead(let id, let error):
                    try log(id, now, "dead", error)
                    var s = RawStatement(dead)
                    s.bind(error)
                    s.bind(id)
                    try s.run()
                case .postpone(let id, let until):
                    var s = RawStatement(postpone)
                    s.bind(until.milliseconds)
                    s.bind(id)
                    try s.run()
                }
            }
            for (at, ids) in delivered {
                try updateEach(ids, set: "state = 'delivered', attempts = attempts + 1, delivered_at = ?, lease_until = NULL, last_error = NULL",
                               at, db)
            }
            for (endpoint, error) in endpointErrors {
                try db.execute(sql: """
                    INSERT INTO endpoint_state (endpoint, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (endpoint) DO UPDATE SET last_error = excluded.last_error,
                        last_error_at = excluded.last_error_at, updated_at = excluded.updated_at
                    """, arguments: [endpoint, error, now.milliseconds, now.milliseconds])
            }
    }

    public func nextDue() throws -> Instant? {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
                .map(Instant.init(milliseconds:))
        }
    }

    /// Both walk `outbox_in_flight`, not the whole outbox with its delivered history.
    static let reclaimSQL = "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'in_flight' AND lease_until < ?"
    static let releaseSQL = "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'in_flight'"

    public func reclaimExpiredLeases(now: Instant) throws -> Int {
        try writer.write { db in
            try db.execute(sql: Self.reclaimSQL, arguments: [now.milliseconds])
            return db.changesCount
        }
    }

    public func releaseInFlight() throws {
        try writer.write { db in
            try db.execute(sql: Self.releaseSQL)
        }
    }

    /// Records an endpoint's circuit-breaker state, for `status`.
    public func setBreaker(endpoint: String, state: String, at: Instant) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO endpoint_state (endpoint, breaker, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (endpoint) DO UPDATE SET breaker = excluded.breaker, updated_at = excluded.updated_at
                """, arguments: [endpoint, state, at.milliseconds])
        }
    }
}

extension Store {
    /// Dead letters, oldest first; with a filter, those it matches. With `newest`, only
    /// the newest that many (still oldest first). Walks the dead letters' own index,
    /// never the whole outbox.
    public func deadLetters(matching filter: DeadLetterFilter, newest: Int?) throws -> [DeadLetter] {
        let (clause, arguments) = filter.sql(ids: nil)
        return try writer.read { db in
            let select = """
                SELECT webhook_id, endpoint, type, order_key, attempts, last_error, created_at, id FROM outbox INDEXED BY outbox_dead
                WHERE state = 'dead'\(clause)
                """
            let sql = newest.map { "SELECT * FROM (\(select) ORDER BY id DESC LIMIT \($0)) ORDER BY id" } ?? select + " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                DeadLetter(webhookID: $0[0], endpoint: $0[1], type: $0[2], orderKey: $0[3], attempts: $0[4], lastError: $0[5],
                           createdAt: Instant(milliseconds: $0[6]))
            }
        }
    }

    /// How many dead letters the filter matches.
    public func countDeadLetters(matching filter: DeadLetterFilter) throws -> Int {
        let (clause, arguments) = filter.sql(ids: nil)
        return try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox INDEXED BY outbox_dead WHERE state = 'dead'\(clause)",
                             arguments: arguments) ?? 0
        }
    }

    /// Puts dead letters back in the queue, due now, with a fresh attempt count and age:
    /// those with the given webhook ids (nil: any) that the filter matches. Returns the
    /// dead letters requeued.
    /// With `to`, they move to that endpoint (a renamed one); a message that endpoint
    /// already has (the same webhook id) stays where it is and is not returned.
    public func requeueDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter,
                                   now: Instant, to: String?) throws -> [DeadLetter] {
        let (clause, arguments) = filter.sql(ids: ids)
        return try writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, webhook_id, endpoint, type, order_key, attempts, last_error, created_at FROM outbox INDEXED BY outbox_dead
                WHERE state = 'dead'\(clause) ORDER BY id
                """, arguments: arguments)
            var done: [Row] = []
            for r in rows {
                if let to, to != (r[2] as String) {
                    let taken = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE webhook_id = ? AND endpoint = ?)",
                                                  arguments: [r[1] as String, to]) ?? false
                    if taken { continue }
                }
                try db.execute(sql: """
                    UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?, last_error = NULL,
                        endpoint = ? WHERE id = ?
                    """, arguments: [now.milliseconds, now.milliseconds, to ?? (r[2] as String), r[0] as Int64])
                done.append(r)
            }
            return done.map {
                DeadLetter(webhookID: $0[1], endpoint: to ?? $0[2], type: $0[3], orderKey: $0[4], attempts: $0[5], lastError: $0[6],
                           createdAt: Instant(milliseconds: $0[7]))
            }
        }
    }

    /// Messages waiting (pending or in flight) for endpoints not in `configured`, per endpoint.
    public func strandedMessages(configured: Set<String>) throws -> [String: Int] {
        try writer.read { db in
            var out: [String: Int] = [:]
            for r in try Row.fetchAll(db, sql: """
                SELECT endpoint, COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') GROUP BY endpoint
                """) where !configured.contains(r[0] as String) {
                out[r[0]] = r[1]
            }
            return out
        }
    }

    /// Makes the pending messages of a removed endpoint dead letters (`endpoint removed`);
    /// returns how many. One in flight comes back pending when its lease runs out, and
    /// goes at the next review.
    public func deadLetterRemoved(endpoint: String, now: Instant) throws -> Int {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = 'endpoint removed'
                WHERE endpoint = ? AND state = 'pending'
                """, arguments: [endpoint])
            return db.changesCount
        }
    }

    /// Deletes dead letters for good: those with the given webhook ids (nil: any) that
    /// the filter matches. Returns the dead letters purged.
    public func purgeDeadLetters(_ ids: [String]?, matching filter: DeadLetterFilter) throws -> [DeadLetter] {
        let found = try deadLetters(matching: filter).filter { ids.map(Set.init)?.contains($0.webhookID) ?? true }
        let (clause, arguments) = filter.sql(ids: ids)
        try writer.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE state = 'dead'\(clause)", arguments: arguments)
        }
        return found
    }
}

extension DeadLetterFilter {
    /// The filter (and the ids, if any) as ` AND …` conditions with their arguments.
    func sql(ids: [String]?) -> (String, StatementArguments) {
        var clause = ""
        var arguments = StatementArguments()
        if let ids {
            clause += " AND webhook_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))"
            arguments += StatementArguments(ids)
        }
        if let endpoint {
            clause += " AND endpoint = ?"
            arguments += [endpoint]
        }
        if let type {
            clause += " AND type = ?"
            arguments += [type]
        }
        if let since {
            clause += " AND created_at >= ?"
            arguments += [since.milliseconds]
        }
        return (clause, arguments)
    }
}
