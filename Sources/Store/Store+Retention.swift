import BackorderCore
import GRDB

extension Store {
    /// Deletes up to `limit` delivered or superseded messages made before `before`, with
    /// their bodies; returns how many. Dead letters and messages still to send are never
    /// touched. Messages are numbered in the order they were made, so the cut is found
    /// by a binary search on the row id and the delete walks the oldest rows only.
    @discardableResult
    public func pruneDelivered(before: Instant, limit: Int) throws -> Int {
        try writer.write { db in
            guard let lowest = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM outbox"),
                  let highest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM outbox") else { return 0 }
            // The first id made at or after `before` (ids and creation times rise together).
            var lo = lowest, hi = highest + 1
            let at = try db.cachedStatement(sql: "SELECT created_at FROM outbox WHERE id >= ? ORDER BY id LIMIT 1")
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                var s = RawStatement(at)
                s.bind(mid)
                let created = try s.step() ? s.int(0) : Int64.max
                s.reset()
                if created < before.milliseconds { lo = mid + 1 } else { hi = mid }
            }
            try db.execute(sql: """
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox WHERE id < ? AND state IN ('delivered', 'superseded') ORDER BY id LIMIT ?)
                """, arguments: [lo, limit])
            return db.changesCount
        }
    }
}
