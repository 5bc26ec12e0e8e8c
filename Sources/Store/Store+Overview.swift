import BackorderCore
import Foundation
import GRDB

extension Store {
    /// The status page's front, from a reader connection (the daemon goes on writing).
    /// `endpoints` are the configured ones, listed even when they have no message yet.
    public func overview(endpoints configured: [String], positions limit: Int) throws -> Overview {
        try writer.read { db in
            var names = configured
            for e in try String.fetchAll(db, sql: "SELECT endpoint FROM endpoint_state ORDER BY endpoint") where !names.contains(e) {
                names.append(e)
            }
            func count(_ sql: String, _ args: StatementArguments) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: args) ?? 0 }
            var deadByEndpoint: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, COUNT(*) FROM outbox INDEXED BY outbox_dead WHERE state = 'dead' GROUP BY endpoint") {
                deadByEndpoint[row[0]] = row[1]
                if !names.contains(row[0]) { names.append(row[0]) }
            }
            var endpoints: [Overview.Endpoint] = []
            for name in names {
                // Each count walks one partial index: pending and dead messages of the endpoint.
                let pending = try count("SELECT COUNT(*) FROM outbox INDEXED BY outbox_pending WHERE endpoint = ? AND state = 'pending'", [name])
                let inFlight = try count("SELECT COUNT(*) FROM outbox INDEXED BY outbox_in_flight WHERE state = 'in_flight' AND endpoint = ?", [name])
                let dead = deadByEndpoint[name] ?? 0
                let oldest = try Int64.fetchOne(db, sql: """
                    SELECT created_at FROM outbox INDEXED BY outbox_pending WHERE endpoint = ? AND state = 'pending' ORDER BY id LIMIT 1
                    """, arguments: [name])
                let row = try Row.fetchOne(db, sql: "SELECT breaker, last_error, last_error_at FROM endpoint_state WHERE endpoint = ?",
                                           arguments: [name])
                endpoints.append(Overview.Endpoint(name: name, pending: pending, inFlight: inFlight, dead: dead,
                                                   oldestPending: oldest.map(Instant.init(milliseconds:)),
                                                   breaker: row?[0] ?? "closed", lastError: row?[1],
                                                   lastErrorAt: (row?[2] as Int64?).map(Instant.init(milliseconds:))))
            }
            let dead = deadByEndpoint.values.reduce(0, +)
            // Each position counts its waiting lines: summed from the small index of those with any.
            let waitingLines = try count("SELECT COALESCE(SUM(waiting_lines), 0) FROM position INDEXED BY position_waiting WHERE waiting_lines > 0", [])
            let files = try Row.fetchAll(db, sql: "SELECT name, offset, line, updated_at FROM inbox_file ORDER BY name").map {
                Overview.File(name: $0[0], offset: $0[1], lines: $0[2], readAt: Instant(milliseconds: $0[3]))
            }
            var waiting: [Overview.WaitingPosition] = []
            for p in try Row.fetchAll(db, sql: """
                SELECT sku, location, on_hand, reserved, waiting_lines FROM position INDEXED BY position_waiting
                WHERE waiting_lines > 0 ORDER BY waiting_lines DESC, sku, location LIMIT ?
                """, arguments: [limit]) {
                let sku: String = p[0], location: String = p[1]
                let units = try Int64.fetchOne(db, sql: """
                    SELECT COALESCE(SUM(qty), 0) FROM order_line INDEXED BY order_line_waiting
                    WHERE sku = ? AND location = ? AND status = 'waiting'
                    """, arguments: [sku, location]) ?? 0
                // The next to arrive: the first instant and the first date (each in order
                // along the index: dates are stored in day order above every instant), the
                // earlier of the two once the date is placed at its start in policy.timezone.
                let calendar = self.calendar
                let po = try ["<", ">="].compactMap { op in
                    try Row.fetchOne(db, sql: """
                        SELECT po, expected_at, quantity FROM restock INDEXED BY restock_open
                        WHERE sku = ? AND location = ? AND status = 'open' AND expected_at \(op) ? ORDER BY expected_at, po LIMIT 1
                        """, arguments: [sku, location, Moment.dayTag])
                }.min {
                    (calendar.ordering(Moment(raw: $0[1])), $0[0] as String) < (calendar.ordering(Moment(raw: $1[1])), $1[0] as String)
                }
                waiting.append(Overview.WaitingPosition(sku: sku, location: location, onHand: p[2], reserved: p[3], waitingLines: p[4],
                                                        waitingUnits: units, nextPO: po?[0],
                                                        nextPOExpected: (po?[1] as Int64?).map(Moment.init(raw:)),
                                                        nextPOQuantity: po?[2]))
            }
            return Overview(endpoints: endpoints, deadLetters: dead, linesWaiting: waitingLines, files: files, waiting: waiting)
        }
    }

    /// The last lines refused, newest first: file, line number and reason.
    public func recentRejects(limit: Int) -> [RecentReject] { rejects.tail(limit: limit) }

    /// What the status page's search box finds for a text: the order of that id, the
    /// orders of a customer id, the order a webhook id was about — each through an index.
    public func searchOrders(_ text: String, endpoints configured: [String], limit: Int) throws -> [String] {
        try writer.read { db in
            var found: [String] = []
            func add(_ ids: [String]) { for id in ids where !found.contains(id) { found.append(id) } }
            add(try String.fetchAll(db, sql: "SELECT DISTINCT order_id FROM order_line WHERE order_id = ?", arguments: [text]))
            add(try String.fetchAll(db, sql: "SELECT DISTINCT order_key FROM outbox WHERE webhook_id = ?", arguments: [text]))
            add(try String.fetchAll(db, sql: """
                SELECT DISTINCT order_id FROM order_line INDEXED BY order_line_customer WHERE customer_id = ? ORDER BY order_id LIMIT ?
                """, arguments: [text, limit]))
            if found.isEmpty {
                // An order known only from its messages (a staff alert's key, say): per endpoint, by index.
                var endpoints = Set(configured)
                for e in try String.fetchAll(db, sql: "SELECT endpoint FROM endpoint_state") { endpoints.insert(e) }
                for e in endpoints.sorted() {
                    add(try String.fetchAll(db, sql: "SELECT order_key FROM outbox WHERE endpoint = ? AND order_key = ? LIMIT 1",
                                            arguments: [e, text]))
                }
            }
            return found
        }
    }
}
