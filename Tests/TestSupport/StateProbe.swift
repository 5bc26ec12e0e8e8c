import Foundation
import GRDB
import Logging
import NIOPosix
import PostgresNIO

/// The backends an end-to-end test runs on: the same test, the same checks.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite, postgres
    public var description: String { rawValue }
}

/// Reads a daemon's state from outside while it runs — the SQLite file, or the
/// PostgreSQL database — with the same SQL on both (the tables are the same), so that an
/// end-to-end test checks either backend with the same queries. Also gives the
/// `[state]` lines that put a daemon on that backend.
public final class StateProbe: @unchecked Sendable {
    public let backend: TestBackend
    public let stateDirectory: String
    /// The database's URL on the tests' throwaway cluster (`postgres` only).
    public let url: String?
    private let lock = NSLock()
    private var connection: PostgresConnection?

    /// A probe for a new state: for `postgres`, a new empty database on `server` (the
    /// shared cluster unless given).
    public init(_ backend: TestBackend, stateDirectory: String, server: PostgresServer? = nil) throws {
        self.backend = backend
        self.stateDirectory = stateDirectory
        url = backend == .postgres ? try (server ?? PostgresServer.shared.get()).database("e2e") : nil
    }

    deinit { _ = try? connection?.close().wait() }

    /// The lines to add under `[state]` (nothing for SQLite, the default).
    public var configLines: String {
        guard let url else { return "" }
        return "backend = \"postgres\"\nurl = \"\(url)\"\nnode = \"test\"\n"
    }

    /// The rows of `sql`, each cell as text (`NULL` for null); empty while there is no
    /// state yet. Throws only what a test should see.
    public func rows(_ sql: String) throws -> [[String]] {
        switch backend {
        case .sqlite:
            let path = stateDirectory + "/backorderd.sqlite"
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            var c = Configuration()
            c.readonly = true
            let db = try DatabaseQueue(path: path, configuration: c)
            return try db.read { db in
                try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map(Self.text) }
            }
        case .postgres:
            return try lock.withLock {
                if connection == nil || connection!.isClosed {
                    let u = URLComponents(string: url!)!
                    let config = PostgresConnection.Configuration(host: u.host!, port: u.port!, username: u.user!, password: nil,
                                                                  database: String(u.path.dropFirst()), tls: .disable)
                    connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: config,
                                                                id: 99, logger: Logger(label: "probe", factory: { _ in SwiftLogNoOpLogHandler() })).wait()
                }
                // Before the daemon made its tables: no rows, as a missing SQLite file.
                guard try connection!.query("SELECT to_regclass('inbox_file') IS NOT NULL", logger: Self.quiet).wait()
                    .first?.decode(Bool.self) == true else { return [] }
                return try connection!.query(PostgresQuery(unsafeSQL: sql), logger: Self.quiet).wait().map { row in
                    row.makeRandomAccess().map(Self.text)
                }
            }
        }
    }

    /// After a daemon was killed: waits (up to 10 s) until the server has ended its
    /// sessions, so that a commit it had sent is applied before the state is read.
    public func settle() {
        guard backend == .postgres else { return }
        for _ in 0..<100 {
            if int("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'backorderd/%'") == 0 { return }
            usleep(100_000)
        }
    }

    /// A SQLite value as comparable text (`NULL` for null, bodies as UTF-8).
    public static func text(_ v: DatabaseValue) -> String {
        switch v.storage {
        case .null: "NULL"
        case .int64(let i): String(i)
        case .string(let t): t
        case .blob(let d): String(decoding: d, as: UTF8.self)
        case .double(let d): String(d)
        }
    }

    /// A PostgreSQL value as the same text.
    public static func text(_ cell: PostgresCell) -> String {
        if cell.bytes == nil { return "NULL" }
        if let i = try? cell.decode(Int64.self) { return String(i) }
        return (try? cell.decode(String.self)) ?? "?"
    }

    /// The first cell of `sql` as a number; nil when there is none (yet).
    public func int(_ sql: String) -> Int64? {
        (try? rows(sql))?.first?.first.flatMap { Int64($0) }
    }

    /// The applied line count of the inbox (the largest stored file cursor): cheap to poll.
    public var appliedLines: Int64 { int("SELECT MAX(line) FROM inbox_file") ?? 0 }

    private static let quiet = Logger(label: "probe", factory: { _ in SwiftLogNoOpLogHandler() })
}
