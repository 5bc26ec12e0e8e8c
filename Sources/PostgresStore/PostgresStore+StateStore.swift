import BackorderCore
import PostgresNIO

/// The engine's side of the backend seam, on PostgreSQL. Each checkpoint is one
/// transaction of a few statements whatever its size: rows go in as arrays (`unnest`),
/// not a round trip a row.
extension PostgresStore: StateStore {
    static let lineColumns = """
        order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status, customer_timezone,
        projected_at, ready_at, long_wait_sent, deadline_at, updated_at
        """

    /// A line from `lineColumns`, without its customer; its zone interned in `calendar`.
    static func line(_ row: PostgresRow, calendar: DayCalendar) throws -> OrderLine {
        let (order, line, sku, location, qty, ordered, promised, estimate, status, zone) =
            try row.decode((String, String, String, String, Int64, Int64, Int64, Int64?, String, String?).self)
        let r = row.makeRandomAccess()
        var l = OrderLine(key: LineKey(order: order, line: line), position: PositionKey(sku: sku, location: location), qty: qty,
                          orderedAt: Moment(raw: ordered), promisedAt: Moment(raw: promised), estimate: estimate.map(Moment.init(raw:)),
                          status: LineStatus(rawValue: status) ?? .waiting, customer: nil,
                          updatedAt: Instant(milliseconds: try r[14].decode(Int64.self)), zone: calendar.zone(named: zone))
        l.projected = try r[10].decode(Int64?.self).map(Moment.init(raw:))
        l.readyAt = try r[11].decode(Int64?.self).map(Instant.init(milliseconds:))
        l.longWaitSent = try r[12].decode(Int64.self) != 0
        l.deadline = try r[13].decode(Int64?.self).map(Instant.init(milliseconds:))
        return l
    }

    public func readWorkingSet(calendar: DayCalendar, preparing prepare: (inout OrderLine) -> Void) throws -> WorkingSet {
        var state = WorkingSet(calendar: calendar)
        try reader.transaction { tx in
            // One snapshot for the three tables.
            try tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if let sizes = try tx.query("""
                SELECT COUNT(*), COALESCE(SUM(open_restocks), 0)::bigint, COALESCE(SUM(waiting_lines), 0)::bigint FROM position
                """).first {
                let (p, r, l) = try sizes.decode((Int64, Int64, Int64).self)
                state.reserve(positions: Int(p), lines: Int(l), restocks: Int(r))
            }
            for row in try tx.query("""
                SELECT sku, location, on_hand, reserved, updated_at, alert_armed, alerts_fired, alert_count, waiting_lines, open_restocks
                FROM position
                """) {
                let (sku, location, onHand, reserved, updated, armed, fired, count, waiting, open) =
                    try row.decode((String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                var p = Position(key: PositionKey(sku: sku, location: location), onHand: onHand, reserved: reserved,
                                 updatedAt: Instant(milliseconds: updated))
                p.alertArmed = armed != 0
                p.alertsFired = AlertSet(rawValue: fired)
                p.alertCount = count
                p.waitingLines = waiting
                p.openRestocks = open
                state.load(p)
            }
            for row in try tx.query(PostgresQuery(unsafeSQL: "SELECT \(Self.lineColumns) FROM order_line WHERE status IN ('waiting', 'ready')")) {
                var line = try Self.line(row, calendar: calendar)
                prepare(&line)
                state.load(line)
            }
            for row in try tx.query("SELECT po, sku, location, quantity, expected_at, status, updated_at FROM restock WHERE status = 'open'") {
                let (po, sku, location, quantity, expected, status, updated) =
                    try row.decode((String, String, String, Int64, Int64, String, Int64).self)
                state.load(Restock(key: RestockKey(po: po, position: PositionKey(sku: sku, location: location)), quantity: quantity,
                                   expectedAt: Moment(raw: expected), status: RestockChange.Status(rawValue: status) ?? .open,
                                   updatedAt: Instant(milliseconds: updated)))
            }
        }
        return state
    }

    public func readLines(_ keys: [LineKey], calendar: DayCalendar) throws -> [OrderLine] {
        guard !keys.isEmpty else { return [] }
        var found: [LineKey: OrderLine] = [:]
        for row in try reader.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.lineColumns) FROM order_line
            WHERE (order_id, line) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """, binds: Self.binds(.text(keys.map(\.order)), .text(keys.map(\.line))))) {
            let l = try Self.line(row, calendar: calendar)
            found[l.key] = l
        }
        return keys.compactMap { found[$0] }
    }

    public func readCustomers(of keys: [LineKey]) throws -> [LineKey: Customer] {
        guard !keys.isEmpty else { return [:] }
        var out: [LineKey: Customer] = [:]
        // The writer's connection, as in SQLite: a checkpoint never waits for the reader.
        for row in try writer.query(PostgresQuery(unsafeSQL: """
            SELECT order_id, line, customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone
            FROM order_line WHERE (order_id, line) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """, binds: Self.binds(.text(keys.map(\.order)), .text(keys.map(\.line))))) {
            let (order, line, id, name, email, phone, locale, zone) =
                try row.decode((String, String, String, String?, String?, String?, String, String?).self)
            out[LineKey(order: order, line: line)] = Customer(id: id, name: name, email: email, phone: phone, locale: locale, timezone: zone)
        }
        return out
    }

    public func loadCursors() throws -> [FileCursor] {
        try reader.query("""
            SELECT device, inode, name, "offset", line, head_length, head_hash, tail_hash FROM inbox_file
            """).map { row in
            let (device, inode, name, offset, line, headLength, headHash, tailHash) =
                try row.decode((Int64, Int64, String, Int64, Int64, Int64, Int64, Int64?).self)
            return FileCursor(id: FileID(device: UInt64(bitPattern: device), inode: UInt64(bitPattern: inode)), name: name,
                              offset: offset, line: line, headLength: Int(headLength), headHash: UInt64(bitPattern: headHash),
                              tailHash: tailHash.map { UInt64(bitPattern: $0) })
        }
    }

    public func forget(_ ids: [FileID]) throws {
        guard !ids.isEmpty else { return }
        try reader.query(PostgresQuery(unsafeSQL: """
            DELETE FROM inbox_file WHERE (device, inode) IN (SELECT * FROM unnest($1::int8[], $2::int8[]))
            """, binds: Self.binds(.int(ids.map { Int64(bitPattern: $0.device) }), .int(ids.map { Int64(bitPattern: $0.inode) }))))
    }

    public func write(_ cp: StoredCheckpoint) throws -> StoredCheckpoint.Timing {
        let started = ContinuousClock.now
        var rowsWritten = started, queued = started
        try writer.transaction { tx in
            try saveRows(cp.rows, tx)
            rowsWritten = .now
            try enqueue(cp.messages, now: cp.now, tx)
            try saveCursors(cp.cursors, tx)
            try saveRejects(cp.rejects, at: cp.now, tx)
            queued = .now
        }
        return .init(rows: rowsWritten - started, queue: queued - rowsWritten, commit: .now - queued)
    }

    // MARK: - Rows

    /// A key as the database compares it: its UTF-8 bytes (Swift's `==` on strings takes
    /// two spellings of "é" for one; the database and the working set do not).
    static func bytes(_ parts: String...) -> [UInt8] {
        var out: [UInt8] = []
        for p in parts { out += p.utf8; out.append(0) }
        return out
    }

    /// The last of each key: a checkpoint that failed goes again with the next, and a row
    /// changed in both is written once, as it stands.
    static func lastOfEach<T, K: Hashable>(_ items: [T], key: (T) -> K) -> [T] {
        var seen = Set<K>()
        var out: [T] = []
        for item in items.reversed() where seen.insert(key(item)).inserted { out.append(item) }
        return out.reversed()
    }

    func saveRows(_ rows: RowChanges, _ tx: Tx) throws {
        let positions = Self.lastOfEach(rows.positions) { Self.bytes($0.key.sku, $0.key.location) }
        if !positions.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                INSERT INTO position (sku, location, on_hand, reserved, alert_armed, alerts_fired, alert_count, waiting_lines,
                    open_restocks, updated_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                    $9::int8[], $10::int8[])
                ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved,
                    alert_armed = excluded.alert_armed, alerts_fired = excluded.alerts_fired, alert_count = excluded.alert_count,
                    waiting_lines = excluded.waiting_lines, open_restocks = excluded.open_restocks, updated_at = excluded.updated_at
                """, binds: Self.binds(.text(positions.map(\.key.sku)), .text(positions.map(\.key.location)), .int(positions.map(\.onHand)),
                                       .int(positions.map(\.reserved)), .int(positions.map { Int64($0.alertArmed ? 1 : 0) }),
                                       .int(positions.map(\.alertsFired.rawValue)), .int(positions.map(\.alertCount)),
                                       .int(positions.map(\.waitingLines)), .int(positions.map(\.openRestocks)),
                                       .int(positions.map(\.updatedAt.milliseconds)))))
        }
        // A line changed twice keeps the customer the earlier change carried when the
        // later one carries none (the row is written with it, as SQLite's two writes do).
        var merged: [[UInt8]: OrderLine] = [:]
        var order: [[UInt8]] = []
        for l in rows.lines {
            let key = Self.bytes(l.key.order, l.key.line)
            if let earlier = merged[key] {
                var l = l
                if l.customer == nil { l.customer = earlier.customer }
                merged[key] = l
            } else {
                merged[key] = l
                order.append(key)
            }
        }
        let lines = order.map { merged[$0]! }
        let withCustomer = lines.filter { $0.customer != nil }
        let without = lines.filter { $0.customer == nil }
        if !withCustomer.isEmpty {
            let c = withCustomer.map { $0.customer! }
            try tx.query(PostgresQuery(unsafeSQL: """
                INSERT INTO order_line (order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status,
                    projected_at, ready_at, long_wait_sent, deadline_at, updated_at,
                    customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                    $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[],
                    $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[])
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
                """, binds: Self.binds(Self.lineBinds(withCustomer) + [
                    .text(c.map(\.id)), .optionalText(c.map(\.name)), .optionalText(c.map(\.email)), .optionalText(c.map(\.phone)),
                    .text(c.map(\.locale)), .optionalText(c.map(\.timezone)),
                ])))
        }
        if !without.isEmpty {
            // Their rows are there already (read from them, or written with them): the customer columns stay.
            try tx.query(PostgresQuery(unsafeSQL: """
                UPDATE order_line o SET sku = u.sku, location = u.location, qty = u.qty, ordered_at = u.ordered_at,
                    promised_at = u.promised_at, estimate_at = u.estimate_at, status = u.status, projected_at = u.projected_at,
                    ready_at = u.ready_at, long_wait_sent = u.long_wait_sent, deadline_at = u.deadline_at, updated_at = u.updated_at
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                    $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[])
                    AS u(order_id, line, sku, location, qty, ordered_at, promised_at, estimate_at, status, projected_at, ready_at,
                         long_wait_sent, deadline_at, updated_at)
                WHERE o.order_id = u.order_id AND o.line = u.line
                """, binds: Self.binds(Self.lineBinds(without))))
        }
        let restocks = Self.lastOfEach(rows.restocks) { Self.bytes($0.key.po, $0.key.position.sku, $0.key.position.location) }
        if !restocks.isEmpty {
            try tx.query(PostgresQuery(unsafeSQL: """
                INSERT INTO restock (po, sku, location, quantity, expected_at, status, updated_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::int8[])
                ON CONFLICT (po, sku, location) DO UPDATE SET quantity = excluded.quantity, expected_at = excluded.expected_at,
                    status = excluded.status, updated_at = excluded.updated_at
                """, binds: Self.binds(.text(restocks.map(\.key.po)), .text(restocks.map(\.key.position.sku)),
                                       .text(restocks.map(\.key.position.location)), .int(restocks.map(\.quantity)),
                                       .int(restocks.map(\.expectedAt.raw)), .text(restocks.map(\.status.rawValue)),
                                       .int(restocks.map(\.updatedAt.milliseconds)))))
        }
    }

    /// The fourteen columns of a line without its customer, as arrays.
    static func lineBinds(_ lines: [OrderLine]) -> [ArrayColumn] {
        [.text(lines.map(\.key.order)), .text(lines.map(\.key.line)), .text(lines.map(\.position.sku)),
         .text(lines.map(\.position.location)), .int(lines.map(\.qty)), .int(lines.map(\.orderedAt.raw)),
         .int(lines.map(\.promisedAt.raw)), .optionalInt(lines.map { $0.estimate?.raw }), .text(lines.map(\.status.rawValue)),
         .optionalInt(lines.map { $0.projected?.raw }), .optionalInt(lines.map { $0.readyAt?.milliseconds }),
         .int(lines.map { $0.longWaitSent ? 1 : 0 }), .optionalInt(lines.map { $0.deadline?.milliseconds }),
         .int(lines.map(\.updatedAt.milliseconds))]
    }

    func saveCursors(_ cursors: [(cursor: FileCursor, at: Instant)], _ tx: Tx) throws {
        let cursors = Self.lastOfEach(cursors) { $0.cursor.id }
        guard !cursors.isEmpty else { return }
        let c = cursors.map(\.cursor)
        try tx.query(PostgresQuery(unsafeSQL: """
            INSERT INTO inbox_file (device, inode, name, "offset", line, head_length, head_hash, tail_hash, updated_at)
            SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int8[])
            ON CONFLICT (device, inode) DO UPDATE SET name = excluded.name, "offset" = excluded."offset", line = excluded.line,
                head_length = excluded.head_length, head_hash = excluded.head_hash, tail_hash = excluded.tail_hash,
                updated_at = excluded.updated_at
            """, binds: Self.binds([.int(c.map { Int64(bitPattern: $0.id.device) }), .int(c.map { Int64(bitPattern: $0.id.inode) }),
                                    .text(c.map(\.name)), .int(c.map(\.offset)), .int(c.map(\.line)), .int(c.map { Int64($0.headLength) }),
                                    .int(c.map { Int64(bitPattern: $0.headHash) }),
                                    .optionalInt(c.map { $0.tailHash.map { Int64(bitPattern: $0) } }),
                                    .int(cursors.map(\.at.milliseconds))])))
    }

    func saveRejects(_ rejects: [Reject], at: Instant, _ tx: Tx) throws {
        guard !rejects.isEmpty else { return }
        try tx.query(PostgresQuery(unsafeSQL: """
            INSERT INTO reject (at, file, line, reason, raw)
            SELECT $1, f, l, r, decode(h, 'hex') FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[]) AS u (f, l, r, h)
            """, binds: Self.binds(.scalar(at.milliseconds), .text(rejects.map(\.file)), .int(rejects.map(\.line)),
                                   .text(rejects.map(\.reason)), .text(rejects.map { Self.hex($0.raw) }))))
    }

    /// Bytes as lowercase hex, for `decode(…, 'hex')`: a rejected line need not be UTF-8.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Outbox

    /// Queues each message once per endpoint that takes it, in order, and marks what each
    /// one really queued replaces — the first replacement of a row wins, as when they
    /// are queued one by one.
    func enqueue(_ messages: [QueuedMessage], now: Instant, _ tx: Tx) throws {
        var ids: [String] = [], endpoints: [String] = [], orders: [String] = [], types: [String] = []
        var lineKeys: [String] = [], audiences: [String] = [], zones: [String?] = [], bodies: [String] = []
        var source: [Int] = []  // the message of each row
        for (i, m) in messages.enumerated() {
            for e in m.endpoints {
                ids.append(m.webhookID)
                endpoints.append(e)
                orders.append(m.orderKey)
                types.append(m.type.rawValue)
                lineKeys.append(m.lineKeys.joined(separator: "\u{1F}"))
                audiences.append(m.isCustomerMessage ? "customer" : "staff")
                zones.append(m.zone)
                bodies.append(String(decoding: m.body, as: UTF8.self))
                source.append(i)
            }
        }
        guard !ids.isEmpty else { return }
        // Ids taken first and given in the order of the messages: the order per order and
        // endpoint (and what replaces what) is the order they were decided in. A duplicate
        // of a queued message, here or earlier, inserts nothing (its id is not used).
        let rowIDs = try tx.query(PostgresQuery(unsafeSQL: "SELECT nextval('outbox_id_seq') FROM generate_series(1, \(ids.count))"))
            .map { try $0.decode(Int64.self) }.sorted()
        let inserted = try tx.query(PostgresQuery(unsafeSQL: """
            INSERT INTO outbox (id, webhook_id, endpoint, order_key, type, line_keys, audience, zone, created_at, next_attempt_at)
            SELECT n, w, e, o, t, l, a, z, $9, $9
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                AS u(n, w, e, o, t, l, a, z)
            ORDER BY n
            ON CONFLICT (webhook_id, endpoint) DO NOTHING
            RETURNING id, webhook_id, endpoint
            """, binds: Self.binds([.int(rowIDs), .text(ids), .text(endpoints), .text(orders), .text(types), .text(lineKeys),
                                    .text(audiences), .optionalText(zones), .scalar(now.milliseconds)])))
        guard inserted.count > 0 else { return }
        var firstRow: [String: Int] = [:]  // webhook id + endpoint → the first row asking for it
        for k in ids.indices where firstRow[ids[k] + "\u{1F}" + endpoints[k]] == nil { firstRow[ids[k] + "\u{1F}" + endpoints[k]] = k }
        var newIDs: [Int64] = [], newBodies: [String] = [], rows: [Int] = []
        for row in inserted {
            let (id, webhookID, endpoint) = try row.decode((Int64, String, String).self)
            guard let k = firstRow[webhookID + "\u{1F}" + endpoint] else { continue }
            newIDs.append(id)
            newBodies.append(bodies[k])
            rows.append(k)
        }
        try tx.query(PostgresQuery(unsafeSQL: "INSERT INTO outbox_body (id, body) SELECT * FROM unnest($1::int8[], $2::text[])",
                                   binds: Self.binds(.int(newIDs), .text(newBodies))))
        // What each queued message replaces: older pending messages of its order for the
        // same endpoint, of the types it names, all of them or those whose lines it covers.
        var sIDs: [Int64] = [], sTypes: [String] = [], sReplaces: [String] = [], sWhole: [Bool] = []
        var sLines: [String] = [], sEndpoints: [String] = [], sOrders: [String] = []
        for (n, k) in rows.enumerated() {
            let m = messages[source[k]]
            guard !m.replaces.isEmpty else { continue }
            sIDs.append(newIDs[n])
            sTypes.append(m.type.rawValue)
            sReplaces.append(m.replaces.map(\.rawValue).sorted().joined(separator: ","))
            sWhole.append(m.wholeOrder)
            sLines.append(lineKeys[k])
            sEndpoints.append(endpoints[k])
            sOrders.append(orders[k])
        }
        guard !sIDs.isEmpty else { return }
        try tx.query(PostgresQuery(unsafeSQL: """
            UPDATE outbox o SET state = 'superseded', last_error = 'superseded by ' || s.type
            FROM (
                SELECT DISTINCT ON (old.id) old.id, n.type
                FROM unnest($1::int8[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::text[])
                    AS n(id, type, replaces, whole, lines, endpoint, order_key)
                JOIN outbox old ON old.endpoint = n.endpoint AND old.order_key = n.order_key AND old.state = 'pending'
                    AND old.id < n.id AND old.type = ANY (string_to_array(n.replaces, ','))
                    AND (n.whole OR string_to_array(old.line_keys, chr(31)) <@ string_to_array(n.lines, chr(31)))
                ORDER BY old.id, n.id
            ) s
            WHERE o.id = s.id AND o.state = 'pending'
            """, binds: Self.binds([.int(sIDs), .text(sTypes), .text(sReplaces), .bool(sWhole), .text(sLines), .text(sEndpoints),
                                    .text(sOrders)])))
    }
}
