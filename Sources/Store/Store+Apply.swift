import BackorderCore
import GRDB

extension Store {
    /// Applies one batch: loads the rows its records touch, decides record by record in
    /// file order, groups the events into messages, and writes the changed rows, the
    /// outbox rows and the file's new cursor — all in one transaction.
    /// At most about this many events per transaction: a delivery that readies thousands
    /// of orders is committed in parts, so memory and transaction size stay bounded.
    public static let maxEventsPerTransaction = 2_000
    static let loadChunk = 64

    @discardableResult
    public func applyBatch(_ batch: IngestBatch) throws -> (notices: [Notice], result: IngestResult) {
        try writer.write { db in
            var ws = WorkingSet()
            var events: [Event] = []
            var cursor = batch.cursor
            var refused: [Reject] = []
            var applied = 0
            let decider = self.decider  // once per transaction: a reload applies between batches
            for (i, r) in batch.records.enumerated() {
                // Load in small chunks: a batch committed in part loads only what it applied.
                if i % Self.loadChunk == 0 {
                    try load(Needs.of(batch.records[i..<min(i + Self.loadChunk, batch.records.count)].lazy.map(\.record)), into: &ws, db)
                }
                do throws(BackorderCore.RecordError) {
                    try decider.apply(r.record, defaultAt: batch.readAt, to: &ws, events: &events)
                    applied += 1
                } catch {
                    // Refused before it changed anything; its line is in the change file.
                    refused.append(Reject(file: batch.cursor.name, line: r.line, reason: error.reason, raw: []))
                }
                if events.count >= Self.maxEventsPerTransaction, i < batch.records.count - 1, r.endOffset >= 0 {
                    cursor.offset = r.endOffset
                    cursor.line = r.endLine
                    break
                }
            }
            let notices = try finish(&ws, events: events, now: batch.readAt, db)
            try saveCursor(cursor, at: batch.readAt, db)
            var all = batch.rejects.filter { $0.line <= cursor.line }
            if !refused.isEmpty {
                all += refused
                all.sort { $0.line < $1.line }
            }
            // Written before the commit: a crash in between repeats a reject, never loses one.
            try rejects.append(all, at: batch.readAt)
            return (notices, IngestResult(cursor: cursor, applied: applied, rejects: all))
        }
    }

    /// The clock's pass: overdue estimates and long waits due at `now`, for the positions
    /// of at most `limit` due lines (the earliest first), so a backlog of deadlines is
    /// worked off in short transactions; call again while `nextDeadline()` is due.
    @discardableResult
    public func tick(now: Instant, limit: Int = 500) throws -> [Notice] {
        try writer.write { db in
            var keys: [PositionKey] = []
            let st = try db.cachedStatement(sql: """
                SELECT DISTINCT sku, location FROM (
                    SELECT sku, location FROM order_line WHERE status = 'waiting' AND deadline_at <= ?
                    ORDER BY deadline_at LIMIT ?)
                """)
            var s = RawStatement(st)
            s.bind(now.milliseconds)
            s.bind(Int64(limit))
            while try s.step() { keys.append(PositionKey(sku: s.text(0), location: s.text(1))) }
            s.reset()
            guard !keys.isEmpty else { return [] }
            var ws = WorkingSet()
            var needs = Needs()
            needs.positions = Set(keys)
            try load(needs, into: &ws, db)
            var events: [Event] = []
            decider.tick(now: now, to: &ws, events: &events)
            return try finish(&ws, events: events, now: now, db)
        }
    }

    /// When the clock must next run `tick`, if any line is waiting for a deadline.
    public func nextDeadline() throws -> Instant? {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(deadline_at) FROM order_line WHERE status = 'waiting'")
                .map(Instant.init(milliseconds:))
        }
    }

    /// Groups events into notices, renders and queues them, writes the working set back.
    func finish(_ ws: inout WorkingSet, events: [Event], now: Instant, _ db: Database) throws -> [Notice] {
        var notices: [Notice] = []
        if !events.isEmpty {
            let orders = Grouper.ordersNeedingAllLines(events)
            if !orders.isEmpty { try loadOrders(orders, into: &ws, db) }
            notices = grouper.group(events, in: ws)
            try enqueue(notices, now: now, db)
        }
        try save(ws, db)
        return notices
    }

    // MARK: - Loading

    /// Loads what `needs` names, and everything the decision pass needs around it: every
    /// open line and open purchase order of every position involved.
    func load(_ needs: Needs, into ws: inout WorkingSet, _ db: Database) throws {
        var positions = needs.positions
        if !needs.lines.isEmpty {
            let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumns) FROM order_line WHERE order_id = ? AND line = ?")
            for key in needs.lines where ws.lines[key] == nil {
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                if try s.step() {
                    let line = Self.readLine(s)
                    ws.load(line)
                    positions.insert(line.position)
                }
                s.reset()
            }
        }
        if !needs.orders.isEmpty {
            for line in try linesOf(orders: needs.orders, db) {
                ws.load(line)
                positions.insert(line.position)
            }
        }
        var withLines: [PositionKey] = []
        var withRestocks: [PositionKey] = []
        let st = try db.cachedStatement(sql: """
            SELECT on_hand, reserved, updated_at, alert_armed, alerts_fired, alert_count, waiting_lines, open_restocks
            FROM position WHERE sku = ? AND location = ?
            """)
        for key in positions where ws.positions[key] == nil {
            var s = RawStatement(st)
            s.bind(key.sku)
            s.bind(key.location)
            if try s.step() {
                var p = Position(key: key, onHand: s.int(0), reserved: s.int(1), updatedAt: Instant(milliseconds: s.int(2)))
                p.alertArmed = s.int(3) != 0
                p.alertsFired = AlertSet(rawValue: s.int(4))
                p.alertCount = s.int(5)
                p.waitingLines = s.int(6)
                p.openRestocks = s.int(7)
                ws.load(p)
                if p.waitingLines > 0 { withLines.append(key) }
                if p.openRestocks > 0 { withRestocks.append(key) }
            }
            s.reset()
        }
        if !withLines.isEmpty {
            let st = try db.cachedStatement(sql: """
                SELECT \(Self.lineColumns) FROM order_line
                WHERE sku = ? AND location = ? AND status = 'waiting'
                """)
            for key in withLines {
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                while try s.step() { ws.load(Self.readLine(s)) }
                s.reset()
            }
        }
        if !withRestocks.isEmpty {
            let st = try db.cachedStatement(sql: """
                SELECT po, quantity, expected_at, status, updated_at FROM restock
                WHERE sku = ? AND location = ? AND status = 'open'
                """)
            for key in withRestocks {
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                while try s.step() { ws.load(Self.readRestock(s, position: key, po: s.text(0))) }
                s.reset()
            }
        }
        if !needs.restocks.isEmpty {
            let st = try db.cachedStatement(sql: """
                SELECT po, quantity, expected_at, status, updated_at FROM restock WHERE po = ? AND sku = ? AND location = ?
                """)
            for key in needs.restocks where ws.restocks[key] == nil {
                var s = RawStatement(st)
                s.bind(key.po)
                s.bind(key.position.sku)
                s.bind(key.position.location)
                if try s.step() { ws.load(Self.readRestock(s, position: key.position, po: key.po)) }
                s.reset()
            }
        }
    }

    /// Every line of some orders, so grouping can tell `ready` from `partially_ready`.
    func loadOrders(_ orders: Set<String>, into ws: inout WorkingSet, _ db: Database) throws {
        for line in try linesOf(orders: orders, db) { ws.load(line) }
    }

    private func linesOf(orders: Set<String>, _ db: Database) throws -> [OrderLine] {
        let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumns) FROM order_line WHERE order_id = ?")
        var out: [OrderLine] = []
        for order in orders {
            var s = RawStatement(st)
            s.bind(order)
            while try s.step() { out.append(Self.readLine(s)) }
            s.reset()
        }
        return out
    }

    static func readRestock(_ s: RawStatement, position: PositionKey, po: String) -> Restock {
        Restock(key: RestockKey(po: po, position: position), quantity: s.int(1), expectedAt: Instant(milliseconds: s.int(2)),
                status: RestockChange.Status(rawValue: s.text(3)) ?? .open, updatedAt: Instant(milliseconds: s.int(4)))
    }

    // MARK: - Saving

    func save(_ ws: WorkingSet, _ db: Database) throws {
        if !ws.dirtyPositions.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO position (sku, location, on_hand, reserved, alert_armed, alerts_fired, alert_count,
                    waiting_lines, open_restocks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (sku, location) DO UPDATE SET
                    on_hand = excluded.on_hand, reserved = excluded.reserved, alert_armed = excluded.alert_armed,
                    alerts_fired = excluded.alerts_fired, alert_count = excluded.alert_count,
                    waiting_lines = excluded.waiting_lines, open_restocks = excluded.open_restocks, updated_at = excluded.updated_at
                """)
            for key in ws.dirtyPositions {
                guard let p = ws.positions[key] else { continue }
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                s.bind(p.onHand)
                s.bind(p.reserved)
                s.bind(Int64(p.alertArmed ? 1 : 0))
                s.bind(p.alertsFired.rawValue)
                s.bind(p.alertCount)
                s.bind(p.waitingLines)
                s.bind(p.openRestocks)
                s.bind(p.updatedAt.milliseconds)
                try s.run()
            }
        }
        if !ws.dirtyLines.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO order_line (order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
                    customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone,
                    projected_at, ready_at, long_wait_sent, deadline_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (order_id, line) DO UPDATE SET
                    sku = excluded.sku, location = excluded.location, qty = excluded.qty,
                    ordered_at = excluded.ordered_at, promised_at = excluded.promised_at,
                    estimate_at = excluded.estimate_at, status = excluded.status,
                    customer_id = excluded.customer_id, customer_name = excluded.customer_name,
                    customer_email = excluded.customer_email, customer_phone = excluded.customer_phone,
                    customer_locale = excluded.customer_locale, customer_timezone = excluded.customer_timezone,
                    projected_at = excluded.projected_at, ready_at = excluded.ready_at,
                    long_wait_sent = excluded.long_wait_sent, deadline_at = excluded.deadline_at,
                    updated_at = excluded.updated_at
                """)
            for key in ws.dirtyLines {
                guard let l = ws.lines[key] else { continue }
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                s.bind(l.position.sku)
                s.bind(l.position.location)
                s.bind(l.qty)
                s.bind(l.orderedAt.milliseconds)
                s.bind(l.promisedAt.milliseconds)
                s.bind(l.estimate?.milliseconds)
                s.bind(l.status.rawValue)
                s.bind(l.customer.id)
                s.bind(l.customer.name)
                s.bind(l.customer.email)
                s.bind(l.customer.phone)
                s.bind(l.customer.locale)
                s.bind(l.customer.timezone)
                s.bind(l.projected?.milliseconds)
                s.bind(l.readyAt?.milliseconds)
                s.bind(Int64(l.longWaitSent ? 1 : 0))
                s.bind(l.deadline?.milliseconds)
                s.bind(l.updatedAt.milliseconds)
                try s.run()
            }
        }
        if !ws.dirtyRestocks.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO restock (po, sku, location, quantity, expected_at, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (po, sku, location) DO UPDATE SET
                    quantity = excluded.quantity, expected_at = excluded.expected_at, status = excluded.status,
                    updated_at = excluded.updated_at
                """)
            for key in ws.dirtyRestocks {
                guard let r = ws.restocks[key] else { continue }
                var s = RawStatement(st)
                s.bind(key.po)
                s.bind(key.position.sku)
                s.bind(key.position.location)
                s.bind(r.quantity)
                s.bind(r.expectedAt.milliseconds)
                s.bind(r.status.rawValue)
                s.bind(r.updatedAt.milliseconds)
                try s.run()
            }
        }
    }

    func saveCursor(_ c: FileCursor, at: Instant, _ db: Database) throws {
        let st = try db.cachedStatement(sql: """
            INSERT INTO inbox_file (device, inode, name, offset, line, head_length, head_hash, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device, inode) DO UPDATE SET
                name = excluded.name, offset = excluded.offset, line = excluded.line,
                head_length = excluded.head_length, head_hash = excluded.head_hash, updated_at = excluded.updated_at
            """)
        var s = RawStatement(st)
        s.bind(Int64(bitPattern: c.id.device))
        s.bind(Int64(bitPattern: c.id.inode))
        s.bind(c.name)
        s.bind(c.offset)
        s.bind(c.line)
        s.bind(Int64(c.headLength))
        s.bind(Int64(bitPattern: c.headHash))
        s.bind(at.milliseconds)
        try s.run()
    }

    static let lineColumns = """
        order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
        customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone,
        projected_at, ready_at, long_wait_sent, deadline_at, updated_at
        """

    static func readLine(_ s: RawStatement) -> OrderLine {
        var l = OrderLine(
            key: LineKey(order: s.text(0), line: s.text(1)),
            position: PositionKey(sku: s.text(2), location: s.text(3)),
            qty: s.int(4), orderedAt: Instant(milliseconds: s.int(5)), promisedAt: Instant(milliseconds: s.int(6)),
            estimate: s.optionalInt(7).map(Instant.init(milliseconds:)),
            status: LineStatus(rawValue: s.text(8)) ?? .waiting,
            customer: Customer(id: s.text(9), name: s.optionalText(10), email: s.optionalText(11), phone: s.optionalText(12),
                               locale: s.text(13), timezone: s.optionalText(14)),
            updatedAt: Instant(milliseconds: s.int(19)))
        l.projected = s.optionalInt(15).map(Instant.init(milliseconds:))
        l.readyAt = s.optionalInt(16).map(Instant.init(milliseconds:))
        l.longWaitSent = s.int(17) != 0
        l.deadline = s.optionalInt(18).map(Instant.init(milliseconds:))
        return l
    }
}
