import Foundation
import PostgresStore

/// `[state] backend`: where the daemon keeps what it decided. SQLite in
/// `state.directory` is the embedded default; PostgreSQL keeps it in a database a shop
/// already runs, backs up and replicates (`docs/postgresql.md`).
public enum StateBackend: Sendable, Equatable {
    case sqlite
    case postgres(PostgresSettings)

    /// The names `backend` takes, the default first.
    public static let names = ["sqlite", "postgres"]
}

/// `[state]` for `backend = "postgres"`: the server, the password and this daemon's name.
public struct PostgresSettings: Sendable, Equatable {
    public var url: PostgresURL
    /// Read from `password_credential` or `password_file` at load; nil for a server that
    /// needs none (peer or certificate authentication, a trusted local socket).
    public var password: String?
    /// Where the password came from, for messages (never the password itself).
    public var passwordSource: String?
    /// `node`: this daemon's name on the database (`application_name`, and the lease of
    /// several daemons); the host name unless set.
    public var node: String

    public init(url: PostgresURL, password: String? = nil, passwordSource: String? = nil, node: String = PostgresSettings.hostName()) {
        self.url = url
        self.password = password
        self.passwordSource = passwordSource
        self.node = node
    }

    /// The host name, the default `node`.
    public static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "backorderd" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "backorderd" : name
    }

    public static func == (a: PostgresSettings, b: PostgresSettings) -> Bool {
        a.url == b.url && a.password == b.password && a.node == b.node
    }
}
