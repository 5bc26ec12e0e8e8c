import BackorderCore
import GRDB

/// The engine's side of the backend seam, on SQLite.
extension Store: StateStore {
    public func readWorkingSet(calendar: DayCalendar, preparing prepare: (inout OrderLine) -> Void) throws -> WorkingSet {
        var state = WorkingSet(calendar: calendar)
        try writer.read { db in
            if let sizes = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), COALESCE(SUM(open_restocks), 0), COALESCE(SUM(waiting_lines), 0) FROM position
                """) {
                state.reserve(positions: sizes[0], lines: sizes[2], restocks: sizes[1])
            }
            let s = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.positionColumns) FROM position"))
            while try s.step() { state.load(Self.readPosition(s)) }
            let l = RawStatement(try db.cachedStatement(sql: """
                SELECT \(Self.lineColumnsWithoutCustomer) FROM order_line WHERE status IN ('waiting', 'ready')
                """))
            while try l.step() {
                var line = Self.readLine(l, calendar: calendar)
                prepare(&line)
                state.load(line)
            }
            let r = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.restockColumns) FROM restock WHERE status = 'open'"))
            while try r.step() { state.load(Self.readRestock(r)) }
        }
        return state
    }

    public func readLines(_ keys: [LineKey], calendar: DayCalendar) throws -> [OrderLine] {
        try writer.read { db in
            let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumnsWithoutCustomer) FROM order_line WHERE order_id = ? AND line = ?")
            var out: [OrderLine] = []
            for key in keys {
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                if try s.step() { out.append(Self.readLine(s, calendar: calendar)) }
                s.reset()
            }
            return out
        }
    }

    /// On the writer's connection, as when it was read inside the checkpoint's transaction:
    /// a checkpoint never waits for a reader slot the pages hold.
    public func readCustomers(of keys: [LineKey]) throws -> [LineKey: Customer] {
        try writer.writeWithoutTransaction { db in
            let st = try db.cachedStatement(sql: "SELECT \(Self.customerColumns) FROM order_line WHERE order_id = ? AND line = ?")
            var out: [LineKey: Customer] = [:]
            for key in keys where out[key] == nil {
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                if try s.step() { out[key] = Self.readCustomer(s, at: 0) }
                s.reset()
            }
            return out
        }
    }

    public func loadCursors() throws -> [FileCursor] {
        try writer.read { db in
            let s = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.cursorColumns) FROM inbox_file"))
            var out: [FileCursor] = []
            while try s.step() { out.append(Self.readCursor(s)) }
            s.reset()
            return out
        }
    }

    public func forget(_ ids: [FileID]) throws {
        try writer.write { db in
            for id in ids {
                try db.execute(sql: "DELETE FROM inbox_file WHERE device = ? AND inode = ?",
                               arguments: [Int64(bitPattern: id.device), Int64(bitPattern: id.inode)])
            }
        }
    }

    public func write(_ cp: StoredCheckpoint) throws -> StoredCheckpoint.Timing {
        let started = ContinuousClock.now
        var rowsWritten = started, queued = started
        try writer.write { db in
            try save(cp.rows, db)
            rowsWritten = .now
            try enqueue(cp.messages, now: cp.now, db)
            for (cursor, at) in cp.cursors { try saveCursor(cursor, at: at, db) }
            // Written before the commit: a crash in between repeats a reject, never loses one.
            try rejects.append(cp.rejects, at: cp.now)
            queued = .now
        }
        return .init(rows: rowsWritten - started, queue: queued - rowsWritten, commit: .now - queued)
    }
}
