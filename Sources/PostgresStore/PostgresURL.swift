import Foundation

/// Where a PostgreSQL backend is: a libpq-style URL,
/// `postgresql://USER@HOST:PORT/DATABASE?sslmode=MODE`. A password is never in the URL
/// (it would show in `ps`, logs and the configuration's backups): it comes from a
/// systemd credential or a file, and is refused here with the way to give it.
public struct PostgresURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require, verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode

    public init(user: String, host: String, port: Int = 5432, database: String, tls: TLSMode = .verifyFull) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    /// Parses `text`; the error says what to change.
    public init(parsing text: String) throws(PostgresURLError) {
        guard let c = URLComponents(string: text), let scheme = c.scheme, ["postgresql", "postgres"].contains(scheme) else {
            // The text is not repeated: it may hold a password.
            throw PostgresURLError("state.url must look like postgresql://USER@HOST:5432/DATABASE?sslmode=verify-full")
        }
        if c.password != nil {
            throw PostgresURLError("state.url must not hold a password (it would show in logs and backups of the configuration): "
                                   + "remove it and set state.password_credential (a systemd credential) or state.password_file")
        }
        guard let user = c.user, !user.isEmpty else {
            throw PostgresURLError("state.url names no user: write postgresql://USER@HOST/DATABASE")
        }
        guard let host = c.host, !host.isEmpty else { throw PostgresURLError("state.url names no host: write postgresql://USER@HOST/DATABASE") }
        let database = String(c.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("state.url names no database: write postgresql://USER@HOST/DATABASE")
        }
        if let p = c.port, !(1...65535).contains(p) { throw PostgresURLError("state.url's port \(p) is not between 1 and 65535") }
        var tls = TLSMode.verifyFull
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let mode = TLSMode(rawValue: v) else {
                    throw PostgresURLError("state.url's sslmode must be disable, prefer, require or verify-full, got \"\(item.value ?? "")\"")
                }
                tls = mode
            case "password":
                throw PostgresURLError("state.url must not hold a password: set state.password_credential or state.password_file")
            default:
                throw PostgresURLError("state.url's parameter \"\(item.name)\" is not known: backorderd takes sslmode only")
            }
        }
        self.init(user: user, host: host, port: c.port ?? 5432, database: database, tls: tls)
    }

    /// The URL as it may be shown (it holds no secret).
    public var description: String { "postgresql://\(user)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" }
}

public struct PostgresURLError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ d: String) { description = d }
}
