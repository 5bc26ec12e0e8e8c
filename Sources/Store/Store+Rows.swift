import BackorderCore
import GRDB

/// One mapping per table: each table's columns, how a row is read into its type and how
/// the type is written back. Every read and write of these rows goes through here.
extension Store {
    /// The `position` table's columns in the order `readPosition` reads them.
    static let positionColumns = """
        sku, location, on_hand, reserved, updated_at, alert_armed, alerts_fired, alert_count, waiting_lines, open_restocks
        """

    static func readPosition(_ s: RawStatement) -> Position {
        var p = Position(key: PositionKey(sku: s.text(0), location: s.text(1)), onHand: s.int(2), reserved: s.int(3),
                         updatedAt: Instant(milliseconds: s.int(4)))
        p.alertArmed = s.int(5) != 0
        p.alertsFired = AlertSet(rawValue: s.int(6))
        p.alertCount = s.int(7)
        p.waitingLines = s.int(8)
        p.openRestocks = s.int(9)
        return p
    }

    /// The `restock` table's columns in the order `readRestock` reads them: the one
    /// mapping of a purchase order line from a row.
    static let restockColumns = "po, sku, location, quantity, expected_at, status, updated_at"

    static func readRestock(_ s: RawStatement) -> Restock {
        Restock(key: RestockKey(po: s.text(0), position: PositionKey(sku: s.text(1), location: s.text(2))), quantity: s.int(3),
                expectedAt: Moment(raw: s.int(4)), status: RestockChange.Status(rawValue: s.text(5)) ?? .open,
                updatedAt: Instant(milliseconds: s.int(6)))
    }

    // MARK: - Saving

    func save(_ rows: RowChanges, _ db: Database) throws {
        if !rows.positions.isEmpty {
            // Most changed positions have a row: an UPDATE finds it with one search of the
            // key, where an upsert searches twice; a new one is inserted after the miss.
            let update = try db.cachedStatement(sql: """
                UPDATE position SET on_hand = ?3, reserved = ?4, alert_armed = ?5, alerts_fired = ?6, alert_count = ?7,
                    waiting_lines = ?8, open_restocks = ?9, updated_at = ?10
                WHERE sku = ?1 AND location = ?2
                """)
            let insert = try db.cachedStatement(sql: """
                INSERT INTO position (sku, location, on_hand, reserved, alert_armed, alerts_fired, alert_count,
                    waiting_lines, open_restocks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            func run(_ st: Statement, _ p: Position) throws -> Bool {
                var s = RawStatement(st)
                s.bind(p.key.sku)
                s.bind(p.key.location)
                s.bind(p.onHand)
                s.bind(p.reserved)
                s.bind(Int64(p.alertArmed ? 1 : 0))
                s.bind(p.alertsFired.rawValue)
                s.bind(p.alertCount)
                s.bind(p.waitingLines)
                s.bind(p.openRestocks)
                s.bind(p.updatedAt.milliseconds)
                try s.run()
                return s.changes > 0
            }
            for p in rows.positions {
                if try !run(update, p) { _ = try run(insert, p) }
            }
        }
        if !rows.lines.isEmpty {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO order_line (order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
                    projected_at, ready_at, long_wait_sent, deadline_at, updated_at,
                    customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone)
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
            // A line whose customer is not in memory has its row already (it was read
            // from it, or written with it): its customer columns stay as they are.
            let update = try db.cachedStatement(sql: """
                UPDATE order_line SET sku = ?3, location = ?4, qty = ?5, ordered_at = ?6, promised_at = ?7, estimate_at = ?8,
                    status = ?9, projected_at = ?10, ready_at = ?11, long_wait_sent = ?12, deadline_at = ?13, updated_at = ?14
                WHERE order_id = ?1 AND line = ?2
                """)
            for l in rows.lines {
                var s = RawStatement(l.customer == nil ? update : upsert)
                s.bind(l.key.order)
                s.bind(l.key.line)
                s.bind(l.position.sku)
                s.bind(l.position.location)
                s.bind(l.qty)
                s.bind(l.orderedAt.raw)
                s.bind(l.promisedAt.raw)
                s.bind(l.estimate?.raw)
                s.bind(l.status.rawValue)
                s.bind(l.projected?.raw)
                s.bind(l.readyAt?.milliseconds)
                s.bind(Int64(l.longWaitSent ? 1 : 0))
                s.bind(l.deadline?.milliseconds)
                s.bind(l.updatedAt.milliseconds)
                if let c = l.customer {
                    s.bind(c.id)
                    s.bind(c.name)
                    s.bind(c.email)
                    s.bind(c.phone)
                    s.bind(c.locale)
                    s.bind(c.timezone)
                }
                try s.run()
            }
        }
        if !rows.restocks.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO restock (po, sku, location, quantity, expected_at, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (po, sku, location) DO UPDATE SET
                    quantity = excluded.quantity, expected_at = excluded.expected_at, status = excluded.status,
                    updated_at = excluded.updated_at
                """)
            for r in rows.restocks {
                var s = RawStatement(st)
                s.bind(r.key.po)
                s.bind(r.key.position.sku)
                s.bind(r.key.position.location)
                s.bind(r.quantity)
                s.bind(r.expectedAt.raw)
                s.bind(r.status.rawValue)
                s.bind(r.updatedAt.milliseconds)
                try s.run()
            }
        }
    }

    func saveCursor(_ c: FileCursor, at: Instant, _ db: Database) throws {
        let st = try db.cachedStatement(sql: """
            INSERT INTO inbox_file (device, inode, name, offset, line, head_length, head_hash, tail_hash, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device, inode) DO UPDATE SET
                name = excluded.name, offset = excluded.offset, line = excluded.line,
                head_length = excluded.head_length, head_hash = excluded.head_hash, tail_hash = excluded.tail_hash,
                updated_at = excluded.updated_at
            """)
        var s = RawStatement(st)
        s.bind(Int64(bitPattern: c.id.device))
        s.bind(Int64(bitPattern: c.id.inode))
        s.bind(c.name)
        s.bind(c.offset)
        s.bind(c.line)
        s.bind(Int64(c.headLength))
        s.bind(Int64(bitPattern: c.headHash))
        s.bind(c.tailHash.map { Int64(bitPattern: $0) })
        s.bind(at.milliseconds)
        try s.run()
    }

    /// The `inbox_file` table's columns in the order `readCursor` reads them.
    static let cursorColumns = "device, inode, name, offset, line, head_length, head_hash, tail_hash"

    static func readCursor(_ s: RawStatement) -> FileCursor {
        FileCursor(id: FileID(device: UInt64(bitPattern: s.int(0)), inode: UInt64(bitPattern: s.int(1))), name: s.text(2),
                   offset: s.int(3), line: s.int(4), headLength: Int(s.int(5)), headHash: UInt64(bitPattern: s.int(6)),
                   tailHash: s.optionalInt(7).map { UInt64(bitPattern: $0) })
    }

    /// A line's customer columns, in the order `readCustomer` reads them.
    static let customerColumns = "customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone"

    static func readCustomer(_ s: RawStatement, at i: Int32) -> Customer {
        Customer(id: s.text(i), name: s.optionalText(i + 1), email: s.optionalText(i + 2), phone: s.optionalText(i + 3),
                 locale: s.text(i + 4), timezone: s.optionalText(i + 5))
    }

    static let lineColumns = """
        order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
        \(customerColumns),
        projected_at, ready_at, long_wait_sent, deadline_at, updated_at
        """
    /// The same, without the customer (read back only when a message needs it).
    static let lineColumnsWithoutCustomer = """
        order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
        NULL, NULL, NULL, NULL, NULL, customer_timezone,
        projected_at, ready_at, long_wait_sent, deadline_at, updated_at
        """

    /// Times in the `Moment.raw` form; the line's zone interned in `calendar`.
    static func readLine(_ s: RawStatement, calendar: DayCalendar) -> OrderLine {
        var l = OrderLine(
            key: LineKey(order: s.text(0), line: s.text(1)),
            position: PositionKey(sku: s.text(2), location: s.text(3)),
            qty: s.int(4), orderedAt: Moment(raw: s.int(5)), promisedAt: Moment(raw: s.int(6)),
            estimate: s.optionalInt(7).map(Moment.init(raw:)),
            status: LineStatus(rawValue: s.text(8)) ?? .waiting,
            customer: s.optionalText(9).map { _ in readCustomer(s, at: 9) },
            updatedAt: Instant(milliseconds: s.int(19)),
            zone: calendar.zone(named: s.optionalText(14)))
        l.projected = s.optionalInt(15).map(Moment.init(raw:))
        l.readyAt = s.optionalInt(16).map(Instant.init(milliseconds:))
        l.longWaitSent = s.int(17) != 0
        l.deadline = s.optionalInt(18).map(Instant.init(milliseconds:))
        return l
    }
}
