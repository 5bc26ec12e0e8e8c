import BackorderCore
import GRDB

extension Store {
    /// One position, as stored.
    public func position(_ key: PositionKey) throws -> Position? {
        try writer.read { db in
            var s = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.positionColumns) FROM position WHERE sku = ? AND location = ?"))
            s.bind(key.sku)
            s.bind(key.location)
            defer { s.reset() }
            return try s.step() ? Self.readPosition(s) : nil
        }
    }

    /// Every position, ordered by SKU and location.
    public func allPositions() throws -> [Position] {
        try writer.read { db in
            let s = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.positionColumns) FROM position ORDER BY sku, location"))
            var out: [Position] = []
            while try s.step() { out.append(Self.readPosition(s)) }
            s.reset()
            return out
        }
    }

    /// Every order line, ordered by order and line.
    public func allLines() throws -> [OrderLine] {
        try writer.read { db in
            let calendar = self.calendar
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
