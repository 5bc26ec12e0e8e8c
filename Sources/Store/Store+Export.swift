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
                    rows.append(row.databaseValues.map { v in
                        switch v.storage {
                        case .null: .null
                        case .int64(let i): .int(i)
                        case .string(let s): .text(s)
                        case .blob(let d): .text(String(decoding: d, as: UTF8.self))
                        case .double(let d): .int(Int64(d))
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
