import BackorderCore
import Foundation
import GRDB

extension Store {
    /// The state's id (`meta.state_id`).
    public func stateID() throws -> String {
        try writer.read { db in try StateIdentity.id(in: db) ?? "" }
    }

    /// Reads every table of `StateTable.all` in one snapshot, `batch` rows at a time, for
    /// `migrate --from-sqlite`; returns each table's row count.
    public func export(batch: Int, _ each: (StateTable, [[StateCell]]) throws -> Void) throws -> [String: Int] {
        try writer.read { db in
            var counts: [String: Int] = [:]
            for table in StateTable.all {
                var rows: [[StateCell]] = []
                rows.reserveCapacity(batch)
                var n = 0
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(table.columns.map(StateTable.quoted).joined(separator: ", ")) FROM \(table.name)")
                while let row = try cursor.next() {
                    rows.append(try row.databaseValues.map { v in
                        switch v.storage {
                        case .null: return .null
                        case .int64(let i): return .int(i)
                        case .string(let s): return .text(s)
                        case .blob(let d):
                            // Bodies are UTF-8 JSON; anything else is said, not mended.
                            guard let s = String(validating: d, as: UTF8.self) else {
                                throw StoreError.setup("\(table.name) holds bytes that are not UTF-8; nothing was copied")
                            }
                            return .text(s)
                        case .double:
                            throw StoreError.setup("\(table.name) holds a fractional number where the state keeps none; nothing was copied")
                        }
                    })
                    n += 1
                    if rows.count == batch {
                        try each(table, rows)
                        rows.removeAll(keepingCapacity: true)
                    }
                }
                if !rows.isEmpty { try each(table, rows) }
                counts[table.name] = n
            }
            return counts
        }
    }
}
