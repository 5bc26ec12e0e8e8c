import BackorderCore
import GRDB

extension Store {
    /// Applies one batch: loads the rows its records touch, applies the records in file
    /// order, writes the changed rows and the file's new cursor, all in one transaction.
    /// A crash at any point leaves either all of it or none of it.
    public func apply(_ batch: IngestBatch) throws {
        try writer.write { db in
            var ws = WorkingSet()
            let needs = WorkingSet.Needs.of(batch.records.lazy.map(\.record))
            try load(needs, into: &ws, db)
            for r in batch.records {
                ledger.apply(r.record, defaultAt: batch.readAt, to: &ws)
            }
            try save(ws, db)
            try saveCursor(batch.cursor, at: batch.readAt, db)
            // Written before the commit: a crash in between repeats a reject, never loses one.
            try rejects.append(batch.rejects, at: batch.readAt)
        }
    }

    func load(_ needs: WorkingSet.Needs, into ws: inout WorkingSet, _ db: Database) throws {
        var positions = needs.positions
        if !needs.lines.isEmpty {
            let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumns) FROM order_line WHERE order_id = ? AND line = ?")
            for key in needs.lines {
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                if try s.step() { ws.lines[key] = Self.readLine(s) }
                s.reset()
            }
        }
        if !needs.orders.isEmpty {
            let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumns) FROM order_line WHERE order_id = ?")
            for order in needs.orders {
                var s = RawStatement(st)
                s.bind(order)
                while try s.step() {
                    let line = Self.readLine(s)
                    ws.lines[line.key] = line
                    positions.insert(line.position)
                }
                s.reset()
            }
        }
        if ledger.stockCounts == .net, !positions.isEmpty {
            let st = try db.cachedStatement(sql: """
                SELECT \(Self.lineColumns) FROM order_line
                WHERE sku = ? AND location = ? AND status IN ('waiting', 'ready')
                """)
            for key in positions {
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                while try s.step() {
                    let line = Self.readLine(s)
                    if ws.lines[line.key] == nil { ws.lines[line.key] = line }
                }
                s.reset()
            }
        }
        for (key, _) in ws.lines { ws.orderLines[key.order, default: []].append(key) }
        if !positions.isEmpty {
            let st = try db.cachedStatement(sql: "SELECT on_hand, reserved, updated_at FROM position WHERE sku = ? AND location = ?")
            for key in positions {
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                if try s.step() {
                    ws.positions[key] = Position(key: key, onHand: s.int(0), reserved: s.int(1),
                                                 updatedAt: Instant(milliseconds: s.int(2)))
                }
                s.reset()
            }
        }
        if !needs.restocks.isEmpty {
            let st = try db.cachedStatement(sql: """
                SELECT quantity, expected_at, status, updated_at FROM restock WHERE po = ? AND sku = ? AND location = ?
                """)
            for key in needs.restocks {
                var s = RawStatement(st)
                s.bind(key.po)
                s.bind(key.position.sku)
                s.bind(key.position.location)
                if try s.step() {
                    ws.restocks[key] = Restock(key: key, quantity: s.int(0), expectedAt: Instant(milliseconds: s.int(1)),
                                               status: RestockChange.Status(rawValue: s.text(2)) ?? .open,
                                               updatedAt: Instant(milliseconds: s.int(3)))
                }
                s.reset()
            }
        }
    }

    func save(_ ws: WorkingSet, _ db: Database) throws {
        if !ws.dirtyPositions.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO position (sku, location, on_hand, reserved, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (sku, location) DO UPDATE SET
                    on_hand = excluded.on_hand, reserved = excluded.reserved, updated_at = excluded.updated_at
                """)
            for key in ws.dirtyPositions {
                guard let p = ws.positions[key] else { continue }
                var s = RawStatement(st)
                s.bind(key.sku)
                s.bind(key.location)
                s.bind(p.onHand)
                s.bind(p.reserved)
                s.bind(p.updatedAt.milliseconds)
                try s.run()
            }
        }
        if !ws.dirtyLines.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO order_line (order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
                    customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (order_id, line) DO UPDATE SET
                    sku = excluded.sku, location = excluded.location, qty = excluded.qty,
                    ordered_at = excluded.ordered_at, promised_at = excluded.promised_at,
                    estimate_at = excluded.estimate_at, status = excluded.status,
                    customer_id = excluded.customer_id, customer_name = excluded.customer_name,
                    customer_email = excluded.customer_email, customer_phone = excluded.customer_phone,
                    customer_locale = excluded.customer_locale, customer_timezone = excluded.customer_timezone,
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
        customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone, updated_at
        """

    static func readLine(_ s: RawStatement) -> OrderLine {
        OrderLine(
            key: LineKey(order: s.text(0), line: s.text(1)),
            position: PositionKey(sku: s.text(2), location: s.text(3)),
            qty: s.int(4), orderedAt: Instant(milliseconds: s.int(5)), promisedAt: Instant(milliseconds: s.int(6)),
            estimate: s.optionalInt(7).map(Instant.init(milliseconds:)),
            status: LineStatus(rawValue: s.text(8)) ?? .waiting,
            customer: Customer(id: s.text(9), name: s.optionalText(10), email: s.optionalText(11), phone: s.optionalText(12),
                               locale: s.text(13), timezone: s.optionalText(14)),
            updatedAt: Instant(milliseconds: s.int(15)))
    }
}
