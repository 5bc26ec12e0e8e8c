import GRDB
import GRDBSQLite

/// Binds and steps a GRDB-prepared statement through SQLite's C API.
///
/// The ingest path runs millions of tiny statements; building `StatementArguments`
/// for each costs more than SQLite's own work, so the hot path binds directly.
/// GRDB still prepares, caches and finalizes the statements and owns the transaction.
struct RawStatement {
    let handle: OpaquePointer
    private var index: Int32 = 0

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: Statement) {
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    mutating func bind(_ v: Int64) {
        index += 1
        sqlite3_bind_int64(handle, index, v)
    }

    mutating func bind(_ v: Int64?) {
        index += 1
        if let v { sqlite3_bind_int64(handle, index, v) } else { sqlite3_bind_null(handle, index) }
    }

    mutating func bind(_ v: String) {
        index += 1
        var s = v
        s.withUTF8 { buf in
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(buf.count), Self.transient)
        }
    }

    mutating func bindBlob(_ v: [UInt8]) {
        index += 1
        v.withUnsafeBytes { buf in
            _ = sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), Self.transient)
        }
    }

    mutating func bind(_ v: String?) {
        if let v { bind(v) } else { index += 1; sqlite3_bind_null(handle, index) }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        let rc = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw StoreError.sqlite(rc, String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))) }
    }

    /// Rows the last run changed.
    var changes: Int32 { sqlite3_changes(sqlite3_db_handle(handle)) }

    /// Steps once; true while a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        guard rc == SQLITE_DONE else { throw StoreError.sqlite(rc, String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))) }
        return false
    }

    func reset() { sqlite3_reset(handle) }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : text(column)
    }
}
