import BackorderCore
import GRDB

extension Store {
    /// What some change files would cause on top of the current state, decided by the
    /// same code as `apply` and `tick`, inside a transaction that is rolled back: nothing
    /// is kept and nothing is sent. `files` holds each file's batches, in the order the
    /// files arrive; with `tickAt`, the clock's pass runs at that time after each file,
    /// as the daemon's clock does after each batch, so a line overdue after one file and
    /// ready after the next is told both. Returns each new outbox body once (per webhook
    /// id), and the lines the decision pass refused.
    public func preview(_ files: [[IngestBatch]], tickAt: Instant?) throws
        -> (messages: [(type: String, webhookID: String, body: [UInt8])], refused: [Reject]) {
        try writer.writeWithoutTransaction { db in
            var out: [(String, String, [UInt8])] = []
            var refused: [Reject] = []
            try db.inTransaction {
                let decider = self.decider
                let before = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM outbox") ?? 0
                for file in files {
                    for batch in file {
                        var ws = WorkingSet()
                        try load(Needs.of(batch.records.lazy.map(\.record)), into: &ws, db)
                        var events: [Event] = []
                        for r in batch.records {
                            do throws(BackorderCore.RecordError) {
                                try decider.apply(r.record, defaultAt: batch.readAt, to: &ws, events: &events)
                            } catch {
                                refused.append(Reject(file: batch.cursor.name, line: r.line, reason: error.reason, raw: []))
                            }
                        }
                        _ = try finish(&ws, events: events, now: batch.readAt, db)
                    }
                    guard let at = tickAt else { continue }
                    // Deadlines that have passed by then: overdue estimates, long waits.
                    while let next = try Int64.fetchOne(db, sql: "SELECT MIN(deadline_at) FROM order_line WHERE status = 'waiting'"),
                          next <= at.milliseconds {
                        var keys = Set<PositionKey>()
                        for row in try Row.fetchAll(db, sql: "SELECT DISTINCT sku, location FROM order_line WHERE status = 'waiting' AND deadline_at <= ?", arguments: [at.milliseconds]) {
                            keys.insert(PositionKey(sku: row[0], location: row[1]))
                        }
                        var ws = WorkingSet()
                        var needs = Needs()
                        needs.positions = keys
                        try load(needs, into: &ws, db)
                        var events: [Event] = []
                        decider.tick(now: at, to: &ws, events: &events)
                        _ = try finish(&ws, events: events, now: at, db)
                    }
                }
                var seen = Set<String>()
                for row in try Row.fetchAll(db, sql: "SELECT type, webhook_id, (SELECT body FROM outbox_body AS b WHERE b.id = o.id) FROM outbox AS o WHERE id > ? ORDER BY id", arguments: [before]) {
                    let id: String = row[1]
                    guard seen.insert(id).inserted else { continue }
                    out.append((row[0], id, [UInt8](row[2] as Data)))
                }
                return .rollback
            }
            return (out, refused)
        }
    }
}
import Foundation
