import BackorderCore
import GRDB

extension Store {
    /// One position, as stored.
    public func position(_ key: PositionKey) throws -> Position? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT on_hand, reserved, updated_at FROM position WHERE sku = ? AND location = ?",
                             arguments: [key.sku, key.location]).map {
                Position(key: key, onHand: $0[0], reserved: $0[1], updatedAt: Instant(milliseconds: $0[2]))
            }
        }
    }

    /// Every position, ordered by SKU and location.
    public func allPositions() throws -> [Position] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT sku, location, on_hand, reserved, updated_at FROM position ORDER BY sku, location").map {
                Position(key: PositionKey(sku: $0[0], location: $0[1]), onHand: $0[2], reserved: $0[3],
                         updatedAt: Instant(milliseconds: $0[4]))
            }
        }
    }

    /// Every order line, ordered by order and line.
    public func allLines() throws -> [OrderLine] {
        try writer.read { db in
            let calendar = decider.policy.calendar
            let st = try db.makeStatement(sql: "SELECT \(Self.lineColumns) FROM order_line ORDER BY order_id, line")
            let s = RawStatement(st)
            var out: [OrderLine] = []
            while try s.step() { out.append(Self.readLine(s, calendar: calendar)) }
            s.reset()
            return out
        }
    }

    /// Every purchase order line.
    public func allRestocks() throws -> [Restock] {
        try writer.read { db in
            let s = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.restockColumns) FROM restock ORDER BY po, sku, location"))
            var out: [Restock] = []
            while try s.step() { out.append(Self.readRestock(s)) }
            s.reset()
            return out
        }
    }

    /// The followed files and how far each is applied.
    public func cursors() throws -> [FileCursor] { try loadCursors() }
}
