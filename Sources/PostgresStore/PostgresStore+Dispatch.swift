import BackorderCore
import PostgresNIO

/// The dispatcher's side of the queue on PostgreSQL (`OutboxQueue`), on a connection of
/// its own. A claim locks its rows with `FOR UPDATE SKIP LOCKED`, so two workers never
/// take one message; outcomes go in a few array statements a batch.
extension PostgresStore: OutboxQueue {
    /// Due messages of one endpoint, oldest first, each only once every earlier message
    /// of its order has left the queue; along `outbox_pending` (pending rows in id order),
    /// never the delivered history.
    static let claimSQL = """
        WITH c AS (
            SELECT o.id FROM outbox o
            WHERE o.endpoint = $1 AND o.state = 'pending' AND o.next_attempt_at <= $2
              AND NOT EXISTS (
                SELECT 1 FROM outbox e
                WHERE e.endpoint = o.endpoint AND e.order_key = o.order_key AND e.id < o.id
                  AND e.state IN ('pending', 'in_flight'))
            ORDER BY o.id LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE outbox o SET state = 'in_flight', lease_until = $4 FROM c WHERE o.id = c.id
        RETURNING o.id, o.webhook_id, o.order_key, o.type, (SELECT body FROM outbox_body b WHERE b.id = o.id), o.attempts,
            o.created_at, o.zone, o.audience
        """

    func claim(endpoint: String, now: Instant, limit: Int, leaseUntil: Instant, _ tx: Tx) throws -> [OutboxMessage] {
        var b = PostgresBindings()
        b.append(endpoint)
        b.append(now.milliseconds)
        b.append(Int64(limit))
        b.append(leaseUntil.milliseconds)
        return try tx.query(PostgresQuery(unsafeSQL: Self.claimSQL, binds: b)).map { row in
            let (id, webhookID, order, type, body, attempts, created, zone, audience) =
                try row.decode((Int64, String, String, String, String?, Int64, Int64, String?, String).self)
            return OutboxMessage(rowID: id, webhookID: webhookID, endpoint: endpoint, orderKey: order, type: type,
                                 body: Array((body ?? "").utf8),
                                 attempts: Int(attempts), createdAt: Instant(milliseconds: created), zone: zone,
                                 isCustomerMessage: audience == "customer")
        }.sorted { $0.rowID < $1.rowID }
    }

    public func claim(endpoint: String, now: Instant, limit: Int, leaseUntil: Instant) throws -> [OutboxMessage] {
        guard limit > 0 else { return [] }
        return try dispatch.transaction { tx in try claim(endpoint: endpoint, now: now, limit: limit, leaseUntil: leaseUntil, tx) }
    }

    public func record(_ updates: [DeliveryUpdate], endpointErrors: [String: String], now: Instant) throws {
        guard !updates.isEmpty || !endpointErrors.isEmpty else { return }
        try dispatch.transaction { tx in try record(updates, endpointErrors: endpointErrors, now: now, tx) }
    }

    public func exchange(record updates: [DeliveryUpdate], endpointErrors: [String: String], claim: [(endpoint: String, limit: Int)],
                         now: Instant, leaseUntil: Instant) throws -> [String: [OutboxMessage]] {
        guard !updates.isEmpty || !endpointErrors.isEmpty || !claim.isEmpty else { return [:] }
        return try dispatch.transaction { tx in
            try record(updates, endpointErrors: endpointErrors, now: now, tx)
            var out: [String: [OutboxMessage]] = [:]
            for (endpoint, limit) in claim where limit > 0 {
                out[endpoint] = try self.claim(endpoint: endpoint, now: now, limit: limit, leaseUntil: leaseUntil, tx)
            }
            return out
        }
    }

    func record(_ updates: [DeliveryUpdate], endpointErrors: [String: String], now: Instant, _ tx: Tx) throws {
        var delivered: (ids: [Int64], at: [Int64]) = ([], [])
        var retry: (ids: [Int64], next: [Int64], error: [String]) = ([], [], [])
        var dead: (ids: [Int64], error: [String]) = ([], [])
        var postpone: (ids: [Int64], until: [Int64]) = ([], [])
        var attempts: (ids: [Int64], at: [Int64], outcome: [String], detail: [String]) = ([], [], [], [])
        for u in updates {
            switch u {
            case .delivered(let id, let at, let status):
                delivered.ids.append(id); delivered.at.append(at.milliseconds)
                attempts.ids.append(id); attempts.at.append(at.milliseconds); attempts.outcome.append("delivered")
                attempts.detail.append("HTTP \(status)")
            case .retry(let id, let next, let error):
                retry.ids.append(id); retry.next.append(next.milliseconds); retry.error.append(error)
                attempts.ids.append(id); attempts.at.append(now.milliseconds); attempts.outcome.append("retry"); attempts.detail.append(error)
            case .dead(let id, let error):
                dead.ids.append(id); dead.error.append(error)
                attempts.ids.append(id); attempts.at.append(now.milliseconds); attempts.outcome.append("dead"); attempts.detail.append(error)
            case .postpone(let id, let until):
                postpone.ids.append(id); postpone.until.append(until.milliseconds)
            }
        }
        if !attempts.ids.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                INSERT INTO delivery_attempt (outbox_id, at, outcome, detail) SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[])
                """, binds: Self.binds(.int(attempts.ids), .int(attempts.at), .text(attempts.outcome), .text(attempts.detail))))
        }
        if !retry.ids.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                UPDATE outbox o SET state = 'pending', attempts = o.attempts + 1, next_attempt_at = u.next, lease_until = NULL,
                    last_error = u.error
                FROM unnest($1::int8[], $2::int8[], $3::text[]) AS u(id, next, error) WHERE o.id = u.id
                """, binds: Self.binds(.int(retry.ids), .int(retry.next), .text(retry.error))))
        }
        if !dead.ids.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                UPDATE outbox o SET state = 'dead', attempts = o.attempts + 1, lease_until = NULL, last_error = u.error
                FROM unnest($1::int8[], $2::text[]) AS u(id, error) WHERE o.id = u.id
                """, binds: Self.binds(.int(dead.ids), .text(dead.error))))
        }
        if !postpone.ids.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                UPDATE outbox o SET state = 'pending', next_attempt_at = u.until, lease_until = NULL
                FROM unnest($1::int8[], $2::int8[]) AS u(id, until) WHERE o.id = u.id
                """, binds: Self.binds(.int(postpone.ids), .int(postpone.until))))
        }
        // Deliveries last, as SQLite applies them: an id both postponed and delivered in
        // one batch (a lease reclaimed and claimed again) ends delivered.
        if !delivered.ids.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                UPDATE outbox o SET state = 'delivered', attempts = o.attempts + 1, delivered_at = u.at, lease_until = NULL, last_error = NULL
                FROM unnest($1::int8[], $2::int8[]) AS u(id, at) WHERE o.id = u.id
                """, binds: Self.binds(.int(delivered.ids), .int(delivered.at))))
        }
        if !endpointErrors.isEmpty {
            let names = endpointErrors.keys.sorted()
            try tx.query(PostgresQuery(unsafeSQL: """
                INSERT INTO endpoint_state (endpoint, last_error, last_error_at, updated_at)
                SELECT e, m, $3, $3 FROM unnest($1::text[], $2::text[]) AS u(e, m)
                ON CONFLICT (endpoint) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at,
                    updated_at = excluded.updated_at
                """, binds: Self.binds(.text(names), .text(names.map { endpointErrors[$0]! }), .scalar(now.milliseconds))))
        }
    }

    public func nextDue() throws -> Instant? {
        try dispatch.query("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'").first?
            .decode(Int64?.self).map(Instant.init(milliseconds:))
    }

    /// Both walk `outbox_in_flight`, not the whole outbox with its delivered history.
    static let reclaimSQL = "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'in_flight' AND lease_until < $1"
    static let releaseSQL = "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'in_flight'"

    public func reclaimExpiredLeases(now: Instant) throws -> Int {
        var b = PostgresBindings()
        b.append(now.milliseconds)
        return try dispatch.query(PostgresQuery(unsafeSQL: Self.reclaimSQL, binds: b)).metadata.rows ?? 0
    }

    public func releaseInFlight() throws {
        try dispatch.query(PostgresQuery(unsafeSQL: Self.releaseSQL))
    }

    /// Records an endpoint's circuit-breaker state, for the pages.
    public func setBreaker(endpoint: String, state: String, at: Instant) throws {
        try dispatch.query("""
            INSERT INTO endpoint_state (endpoint, breaker, updated_at) VALUES (\(endpoint), \(state), \(at.milliseconds))
            ON CONFLICT (endpoint) DO UPDATE SET breaker = excluded.breaker, updated_at = excluded.updated_at
            """)
    }
}
