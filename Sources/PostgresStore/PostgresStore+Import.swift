import BackorderCore
import PostgresNIO

/// `backorderd migrate --from-sqlite`: another backend's state copied in, in one
/// transaction, into a database that holds none.
extension PostgresStore {
    /// What went wrong with an import, in an operator's words.
    public struct ImportRefusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `source`, which hands over every table's rows in batches, inside one
    /// transaction; refuses a database that already holds a state, checks each table's
    /// count against `source`'s, keeps the outbox's ids (and moves its sequence past
    /// them) and takes `stateID` as the state's id. Returns the rows copied per table.
    public func importState(stateID: String,
                            _ source: ((StateTable, [[StateCell]]) throws -> Void) throws -> [String: Int]) throws -> [String: Int] {
        try writer.transaction { tx in
            for table in StateTable.all.map(\.name) + ["reject"] {
                let n = try tx.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)")).first?.decode(Int64.self) ?? 0
                guard n == 0 else {
                    throw ImportRefusal(description: "\(url.description) already holds a state (\(n) rows in \(table)); "
                                        + "migrate copies into an empty database only: create a new one, or drop and re-create this one")
                }
            }
            var types: [String: [String: String]] = [:]
            for row in try tx.query("""
                SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                WHERE table_schema = current_schema()
                """) {
                let (table, column, type) = try row.decode((String, String, String).self)
                types[table, default: [:]][column] = type
            }
            let counts = try source { table, rows in
                var columns: [ArrayColumn] = []
                var casts: [String] = []
                for (i, column) in table.columns.enumerated() {
                    let type = types[table.name]?[column] ?? "text"
                    if type == "bigint" || type == "integer" {
                        // A value of another type is refused, never written as NULL.
                        columns.append(.optionalInt(try rows.map {
                            switch $0[i] {
                            case .int(let v): return v
                            case .null: return nil
                            case .text: throw ImportRefusal(description: "\(table.name).\(column) holds text where a number belongs; nothing was kept")
                            }
                        }))
                        casts.append("$\(i + 1)::int8[]")
                    } else {
                        columns.append(.optionalText(rows.map {
                            switch $0[i] {
                            case .text(let s): s
                            case .int(let v): String(v)
                            case .null: nil
                            }
                        }))
                        casts.append("$\(i + 1)::text[]")
                    }
                }
                try tx.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(table.name) (\(table.columns.map(StateTable.quoted).joined(separator: ", ")))
                    SELECT * FROM unnest(\(casts.joined(separator: ", ")))
                    """, binds: Self.binds(columns)))
            }
            for table in StateTable.all {
                let n = try tx.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table.name)")).first?.decode(Int64.self) ?? 0
                guard n == Int64(counts[table.name] ?? 0) else {
                    throw ImportRefusal(description: "\(table.name): \(counts[table.name] ?? 0) rows read, \(n) written; nothing was kept")
                }
            }
            try tx.query("SELECT setval('outbox_id_seq', GREATEST((SELECT MAX(id) FROM outbox), 1))")
            try tx.query("UPDATE meta SET value = \(stateID) WHERE key = 'state_id'")
            return counts
        }
    }
}
