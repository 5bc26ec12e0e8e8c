import BackorderCore
import GRDB

extension Store {
    /// The state at one moment (`StatusReport`), from a reader connection in one read
    /// transaction (the daemon goes on writing). `endpoints` are the configured ones,
    /// listed first and even when they have no message yet; `positions` bounds the
    /// waiting positions listed.
    public func report(endpoints configured: [String], positions limit: Int, scope: StatusReport.Scope) throws -> StatusReport {
        try writer.read { db in
            var names = configured
            func add(_ name: String) { if !names.contains(name) { names.append(name) } }
            for e in try String.fetchAll(db, sql: "SELECT endpoint FROM endpoint_state ORDER BY endpoint") { add(e) }
            func count(_ sql: String, _ args: StatementArguments) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: args) ?? 0 }
            var deadByEndpoint: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, COUNT(*) FROM outbox INDEXED BY outbox_dead WHERE state = 'dead' GROUP BY endpoint") {
                deadByEndpoint[row[0]] = row[1]
                add(row[0])
            }
            // The whole history per endpoint and state: full scope only (a walk of the outbox).
            var byState: [String: [String: Int]] = [:]
            if scope == .full {
                for row in try Row.fetchAll(db, sql: "SELECT endpoint, state, COUNT(*) FROM outbox GROUP BY endpoint, state") {
                    byState[row[0], default: [:]][row[1]] = row[2]
                    add(row[0])
                }
            }
            var endpoints: [StatusReport.Endpoint] = []
            for name in names {
                // Each count walks one partial index: the pending and the in-flight messages of the endpoint.
                let pending = try count("SELECT COUNT(*) FROM outbox INDEXED BY outbox_pending WHERE endpoint = ? AND state = 'pending'", [name])
                let inFlight = try count("SELECT COUNT(*) FROM outbox INDEXED BY outbox_in_flight WHERE state = 'in_flight' AND endpoint = ?", [name])
                let oldest = try Int64.fetchOne(db, sql: """
                    SELECT created_at FROM outbox INDEXED BY outbox_pending WHERE endpoint = ? AND state = 'pending' ORDER BY id LIMIT 1
                    """, arguments: [name])
                let row = try Row.fetchOne(db, sql: "SELECT breaker, last_error, last_error_at FROM endpoint_state WHERE endpoint = ?",
                                           arguments: [name])
                endpoints.append(StatusReport.Endpoint(
                    name: name, pending: pending, inFlight: inFlight, dead: deadByEndpoint[name] ?? 0,
                    delivered: scope == .full ? byState[name]?["delivered"] ?? 0 : nil,
                    superseded: scope == .full ? byState[name]?["superseded"] ?? 0 : nil,
                    oldestPending: oldest.map(Instant.init(milliseconds:)), breaker: row?[0] ?? "closed", lastError: row?[1],
                    lastErrorAt: (row?[2] as Int64?).map(Instant.init(milliseconds:))))
            }
            let dead = deadByEndpoint.values.reduce(0, +)
            // Each position counts its waiting lines: summed from the small index of those with any.
            let waitingLines = try count("SELECT COALESCE(SUM(waiting_lines), 0) FROM position INDEXED BY position_waiting WHERE waiting_lines > 0", [])
            let files = try Row.fetchAll(db, sql: "SELECT name, offset, line, updated_at FROM inbox_file ORDER BY name").map {
                StatusReport.File(name: $0[0], offset: $0[1], lines: $0[2], readAt: Instant(milliseconds: $0[3]))
            }
            var waiting: [StatusReport.WaitingPosition] = []
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
                waiting.append(StatusReport.WaitingPosition(sku: sku, location: location, onHand: p[2], reserved: p[3], waitingLines: p[4],
                                                            waitingUnits: units, nextPO: po?[0],
                                                            nextPOExpected: (po?[1] as Int64?).map(Moment.init(raw:)),
                                                            nextPOQuantity: po?[2]))
            }
            var report = StatusReport(endpoints: endpoints, deadLetters: dead, linesWaiting: waitingLines, files: files, waiting: waiting)
            if scope == .full {
                var lines: [String: Int] = ["waiting": 0, "ready": 0, "fulfilled": 0, "cancelled": 0]
                // One pass over the lines: counts, and the next deadline of a waiting one.
                for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*), MIN(deadline_at) FROM order_line GROUP BY status") {
                    lines[row[0]] = row[1]
                    if row[0] as String == "waiting" { report.nextDeadline = (row[2] as Int64?).map(Instant.init(milliseconds:)) }
                }
                report.lines = lines
            }
            return report
        }
    }
}
