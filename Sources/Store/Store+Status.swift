import BackorderCore
import Foundation
import GRDB

extension Store {
    /// A consistent snapshot for `status`; safe to call while the daemon runs.
    public func status(endpoints configured: [String], limit: Int) throws -> StatusReport {
        try writer.read { db in
            var lines: [String: Int] = ["waiting": 0, "ready": 0, "fulfilled": 0, "cancelled": 0]
            var next: Int64?
            // One pass over the lines: counts, and the next deadline of a waiting one.
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*), MIN(deadline_at) FROM order_line GROUP BY status") {
                lines[row[0]] = row[1]
                if row[0] as String == "waiting" { next = row[2] }
            }
            let waiting = try Row.fetchAll(db, sql: """
                SELECT p.sku, p.location, p.on_hand, p.reserved, COUNT(l.line), COALESCE(SUM(l.qty), 0)
                FROM position p JOIN order_line l ON l.sku = p.sku AND l.location = p.location AND l.status = 'waiting'
                GROUP BY p.sku, p.location ORDER BY SUM(l.qty) DESC, p.sku, p.location LIMIT ?
                """, arguments: [limit]).map {
                StatusReport.Position(sku: $0[0], location: $0[1], onHand: $0[2], reserved: $0[3], waitingLines: $0[4], waitingQty: $0[5])
            }
            var byEndpoint: [String: StatusReport.Endpoint] = [:]
            for name in configured {
                byEndpoint[name] = StatusReport.Endpoint(name: name, pending: 0, inFlight: 0, delivered: 0, dead: 0, superseded: 0,
                                                         breaker: "closed", lastError: nil, lastErrorAt: nil)
            }
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, state, COUNT(*) FROM outbox GROUP BY endpoint, state") {
                let name: String = row[0]
                var e = byEndpoint[name] ?? StatusReport.Endpoint(name: name, pending: 0, inFlight: 0, delivered: 0, dead: 0,
                                                                  superseded: 0, breaker: "closed", lastError: nil, lastErrorAt: nil)
                let n: Int = row[2]
                switch row[1] as String {
                case "pending": e.pending = n
                case "in_flight": e.inFlight = n
                case "delivered": e.delivered = n
                case "dead": e.dead = n
                default: e.superseded = n
                }
                byEndpoint[name] = e
            }
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, breaker, last_error, last_error_at FROM endpoint_state") {
                let name: String = row[0]
                guard var e = byEndpoint[name] else { continue }
                e.breaker = row[1]
                e.lastError = row[2]
                e.lastErrorAt = (row[3] as Int64?).map { RFC3339.format(Instant(milliseconds: $0)) }
                byEndpoint[name] = e
            }
            let files = try Row.fetchAll(db, sql: "SELECT name, offset, line, updated_at FROM inbox_file ORDER BY name").map {
                StatusReport.File(name: $0[0], offset: $0[1], lines: $0[2], updatedAt: RFC3339.format(Instant(milliseconds: $0[3])))
            }
            let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'dead'") ?? 0
            return StatusReport(lines: lines, waiting: waiting, endpoints: byEndpoint.values.sorted { $0.name < $1.name },
                                deadLetters: dead, files: files, nextDeadline: next.map { RFC3339.format(Instant(milliseconds: $0)) })
        }
    }
}
