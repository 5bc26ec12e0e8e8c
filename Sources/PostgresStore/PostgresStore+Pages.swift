import BackorderCore
import Foundation
import PostgresNIO

/// What the status page, `/metrics` and the support commands read on PostgreSQL, as
/// `Store` reads it on SQLite: the same answers from the same rows, each on the pages'
/// own connection in one read-only snapshot.
extension PostgresStore: OutboxStore {
    /// The state at one moment (`StatusReport`). `endpoints` are the configured ones,
    /// listed first and even when they have no message yet; `positions` bounds the
    /// waiting positions listed.
    public func report(endpoints configured: [String], positions limit: Int, scope: StatusReport.Scope) throws -> StatusReport {
        try pages.transaction { tx in
            try tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var names = configured
            func add(_ name: String) { if !names.contains(name) { names.append(name) } }
            for row in try tx.query("SELECT endpoint FROM endpoint_state ORDER BY endpoint") { add(try row.decode(String.self)) }
            var deadByEndpoint: [String: Int] = [:]
            for row in try tx.query("SELECT endpoint, COUNT(*) FROM outbox WHERE state = 'dead' GROUP BY endpoint ORDER BY endpoint") {
                let (e, n) = try row.decode((String, Int64).self)
                deadByEndpoint[e] = Int(n)
                add(e)
            }
            // The whole history per endpoint and state: full scope only (a walk of the outbox).
            var byState: [String: [String: Int]] = [:]
            if scope == .full {
                for row in try tx.query("SELECT endpoint, state, COUNT(*) FROM outbox GROUP BY endpoint, state ORDER BY endpoint") {
                    let (e, state, n) = try row.decode((String, String, Int64).self)
                    byState[e, default: [:]][state] = Int(n)
                    add(e)
                }
            }
            // The waiting messages of every endpoint in one pass over the two partial indexes;
            // the oldest is the first in the queue's order, as SQLite's report takes it.
            var waiting: [String: (pending: Int, inFlight: Int, oldest: Int64?)] = [:]
            for row in try tx.query("""
                SELECT endpoint, COUNT(*) FILTER (WHERE state = 'pending'), COUNT(*) FILTER (WHERE state = 'in_flight')
                FROM outbox WHERE state IN ('pending', 'in_flight') GROUP BY endpoint
                """) {
                let (e, p, f) = try row.decode((String, Int64, Int64).self)
                // The first in the queue's order, along outbox_pending (one row, whatever the backlog).
                let oldest = p == 0 ? nil : try tx.query("""
                    SELECT created_at FROM outbox WHERE endpoint = \(e) AND state = 'pending' ORDER BY id LIMIT 1
                    """).first?.decode(Int64.self)
                waiting[e] = (Int(p), Int(f), oldest)
            }
            var breakers: [String: (String, String?, Int64?)] = [:]
            for row in try tx.query("SELECT endpoint, breaker, last_error, last_error_at FROM endpoint_state") {
                let (e, b, err, at) = try row.decode((String, String, String?, Int64?).self)
                breakers[e] = (b, err, at)
            }
            let endpoints = names.map { name in
                let w = waiting[name], b = breakers[name]
                return StatusReport.Endpoint(
                    name: name, pending: w?.pending ?? 0, inFlight: w?.inFlight ?? 0, dead: deadByEndpoint[name] ?? 0,
                    delivered: scope == .full ? byState[name]?["delivered"] ?? 0 : nil,
                    superseded: scope == .full ? byState[name]?["superseded"] ?? 0 : nil,
                    oldestPending: w?.oldest.map(Instant.init(milliseconds:)), breaker: b?.0 ?? "closed", lastError: b?.1,
                    lastErrorAt: b?.2.map(Instant.init(milliseconds:)))
            }
            let dead = deadByEndpoint.values.reduce(0, +)
            let waitingLines = try tx.query("SELECT COALESCE(SUM(waiting_lines), 0)::bigint FROM position WHERE waiting_lines > 0")
                .first?.decode(Int64.self) ?? 0
            let files = try tx.query(#"SELECT name, "offset", line, updated_at FROM inbox_file ORDER BY name"#).map { row in
                let (name, offset, lines, at) = try row.decode((String, Int64, Int64, Int64).self)
                return StatusReport.File(name: name, offset: offset, lines: lines, readAt: Instant(milliseconds: at))
            }
            var positions: [StatusReport.WaitingPosition] = []
            for p in try tx.query("""
                SELECT sku, location, on_hand, reserved, waiting_lines FROM position
                WHERE waiting_lines > 0 ORDER BY waiting_lines DESC, sku, location LIMIT \(Int64(max(0, limit)))
                """) {
                let (sku, location, onHand, reserved, lines) = try p.decode((String, String, Int64, Int64, Int64).self)
                let units = try tx.query("""
                    SELECT COALESCE(SUM(qty), 0)::bigint FROM order_line WHERE sku = \(sku) AND location = \(location) AND status = 'waiting'
                    """).first?.decode(Int64.self) ?? 0
                // The next to arrive: the first instant and the first date (dates are stored
                // in day order above every instant), the earlier once the date is placed at
                // its start in policy.timezone — as the SQLite backend decides it.
                var candidates: [(po: String, expected: Int64, quantity: Int64)] = []
                for op in ["<", ">="] {
                    if let row = try tx.query(PostgresQuery(unsafeSQL: """
                        SELECT po, expected_at, quantity FROM restock
                        WHERE sku = $1 AND location = $2 AND status = 'open' AND expected_at \(op) $3 ORDER BY expected_at, po LIMIT 1
                        """, binds: Self.values(sku, location, Moment.dayTag))).first {
                        let (po, expected, quantity) = try row.decode((String, Int64, Int64).self)
                        candidates.append((po, expected, quantity))
                    }
                }
                let calendar = self.calendar
                let po = candidates.min {
                    (calendar.ordering(Moment(raw: $0.expected)), $0.po) < (calendar.ordering(Moment(raw: $1.expected)), $1.po)
                }
                positions.append(StatusReport.WaitingPosition(sku: sku, location: location, onHand: onHand, reserved: reserved,
                                                              waitingLines: lines, waitingUnits: units, nextPO: po?.po,
                                                              nextPOExpected: po.map { Moment(raw: $0.expected) },
                                                              nextPOQuantity: po?.quantity))
            }
            var report = StatusReport(endpoints: endpoints, deadLetters: dead, linesWaiting: Int(waitingLines), files: files,
                                      waiting: positions)
            if scope == .full {
                var lines: [String: Int] = ["waiting": 0, "ready": 0, "fulfilled": 0, "cancelled": 0]
                for row in try tx.query("SELECT status, COUNT(*), MIN(deadline_at) FROM order_line GROUP BY status") {
                    let (status, n, deadline) = try row.decode((String, Int64, Int64?).self)
                    lines[status] = Int(n)
                    if status == "waiting" { report.nextDeadline = deadline.map(Instant.init(milliseconds:)) }
                }
                report.lines = lines
            }
            return report
        }
    }

    /// The story of an order; nil when no line and no message names it.
    public func orderStory(_ order: String, endpoints: [String]) throws -> OrderStory? {
        try pages.transaction { tx in
            try tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var lines: [OrderStory.Line] = []
            var customer: (id: String?, email: String?, phone: String?) = (nil, nil, nil)
            for row in try tx.query("""
                SELECT l.line, l.sku, l.location, l.qty, l.status, l.ordered_at, l.promised_at, l.estimate_at, l.projected_at,
                       l.ready_at, l.customer_id, l.customer_email, l.customer_phone,
                       (SELECT r.po FROM restock r WHERE r.sku = l.sku AND r.location = l.location AND r.status = 'open'
                         AND r.expected_at = l.projected_at ORDER BY r.po LIMIT 1)
                FROM order_line l WHERE l.order_id = \(order) ORDER BY l.line
                """) {
                let (line, sku, location, qty, status, ordered, promised, estimate, projected, ready) =
                    try row.decode((String, String, String, Int64, String, Int64, Int64, Int64?, Int64?, Int64?).self)
                let r = row.makeRandomAccess()
                if customer.id == nil {
                    customer = (try r[10].decode(String.self), try r[11].decode(String?.self), try r[12].decode(String?.self))
                }
                lines.append(OrderStory.Line(line: line, sku: sku, location: location, qty: qty, status: status,
                                             orderedAt: Moment(raw: ordered).description, promisedAt: Moment(raw: promised).description,
                                             estimateAt: estimate.map { Moment(raw: $0).description },
                                             projectedAt: projected.map { Moment(raw: $0).description }, waitsFor: try r[13].decode(String?.self),
                                             readyAt: ready.map { RFC3339.format(Instant(milliseconds: $0)) }))
            }
            // Per endpoint along outbox_order (endpoints removed from the configuration may
            // still hold messages of the order).
            let known = try Self.knownEndpoints(configured: endpoints, tx)
            var messages = try Self.messages(tx, where: "endpoint = ANY ($1::text[]) AND order_key = $2", Self.values(known, order),
                                             body: false)
            messages.sort { ($0.createdAt, $0.webhookID, $0.endpoint) < ($1.createdAt, $1.webhookID, $1.endpoint) }
            guard !lines.isEmpty || !messages.isEmpty else { return nil }
            return OrderStory(order: order, customer: customer.id, email: customer.email, phone: customer.phone, lines: lines,
                              messages: messages)
        }
    }

    /// Every copy (one per endpoint) of the message with this webhook id, body and attempts included.
    public func message(_ webhookID: String) throws -> [MessageRecord] {
        try pages.transaction { tx in
            try tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var copies = try Self.messages(tx, where: "webhook_id = $1", Self.values(webhookID), body: true)
            for i in copies.indices {
                copies[i].history = try tx.query("""
                    SELECT a.at, a.outcome, a.detail FROM delivery_attempt AS a
                    WHERE a.outbox_id = (SELECT id FROM outbox WHERE webhook_id = \(webhookID) AND endpoint = \(copies[i].endpoint))
                    ORDER BY a.at, a.ctid
                    """).map { row in
                    let (at, outcome, detail) = try row.decode((Int64, String, String?).self)
                    return MessageRecord.Attempt(at: RFC3339.format(Instant(milliseconds: at)), outcome: outcome, detail: detail)
                }
            }
            return copies
        }
    }

    static func messages(_ tx: Tx, where condition: String, _ binds: PostgresBindings, body: Bool) throws -> [MessageRecord] {
        try tx.query(PostgresQuery(unsafeSQL: """
            SELECT webhook_id, type, endpoint, order_key, state, attempts, created_at, delivered_at, last_error,
                   \(body ? "(SELECT body FROM outbox_body AS b WHERE b.id = o.id)" : "NULL::text")
            FROM outbox AS o WHERE \(condition) ORDER BY id
            """, binds: binds)).map { row in
            let (id, type, endpoint, order, state, attempts, created, delivered, lastError, text) =
                try row.decode((String, String, String, String, String, Int64, Int64, Int64?, String?, String?).self)
            return MessageRecord(webhookID: id, type: type, endpoint: endpoint, order: order, state: state, attempts: Int(attempts),
                                 createdAt: RFC3339.format(Instant(milliseconds: created)),
                                 deliveredAt: delivered.map { RFC3339.format(Instant(milliseconds: $0)) }, lastError: lastError,
                                 body: text)
        }
    }

    /// The status page's search: the order of that id, the orders of a customer id, the
    /// order a webhook id was about, or an order known only from its messages.
    public func searchOrders(_ text: String, endpoints configured: [String], limit: Int) throws -> [String] {
        try pages.transaction { tx in
            try tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var found: [String] = []
            func add(_ rows: PostgresQueryResult) throws { for row in rows { let id = try row.decode(String.self); if !found.contains(id) { found.append(id) } } }
            try add(try tx.query("SELECT DISTINCT order_id FROM order_line WHERE order_id = \(text)"))
            try add(try tx.query("SELECT DISTINCT order_key FROM outbox WHERE webhook_id = \(text)"))
            try add(try tx.query("""
                SELECT DISTINCT order_id FROM order_line WHERE customer_id = \(text) ORDER BY order_id LIMIT \(Int64(max(0, limit)))
                """))
            if found.isEmpty {
                // An order known only from its messages (a staff alert's key, say): per endpoint, by index.
                let known = try Self.knownEndpoints(configured: configured, tx)
                try add(try tx.query("SELECT order_key FROM outbox WHERE endpoint = ANY (\(known)::text[]) AND order_key = \(text) LIMIT 1"))
            }
            return found
        }
    }

    /// The configured endpoints and every endpoint the queue has known, sorted.
    static func knownEndpoints(configured: [String], _ tx: Tx) throws -> [String] {
        var known = Set(configured)
        for row in try tx.query("SELECT endpoint FROM endpoint_state") { known.insert(try row.decode(String.self)) }
        return known.sorted()
    }

    /// The last lines refused, newest first. Empty when the database cannot be read: a
    /// page shows what it can.
    public func recentRejects(limit: Int) -> [RecentReject] {
        (try? pages.query("SELECT at, file, line, reason FROM reject ORDER BY id DESC LIMIT \(Int64(max(0, limit)))").map { row in
            let (at, file, line, reason) = try row.decode((Int64, String, Int64, String).self)
            return RecentReject(at: RFC3339.format(Instant(milliseconds: at)), file: file, line: Int(line), reason: reason)
        }) ?? []
    }
}
