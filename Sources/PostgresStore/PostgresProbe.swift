import Logging
import PostgresNIO

/// What `backorderd check --connect` learns from the server, without changing anything:
/// its version, the schema there, and what would stop the daemon (an old server, a
/// database not in UTF-8, a newer schema, a role that may not make the tables).
public struct PostgresProbe: Sendable {
    public var serverVersion: String
    /// The schema version found (0: none yet), and the one this binary knows.
    public var schema: Int
    public var known: Int
    /// Each in an operator's words, with what to change.
    public var problems: [String]

    public static func run(url: PostgresURL, password: String?, node: String) throws -> PostgresProbe {
        let logger = Logger(label: "backorderd.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try PostgresStore.Session.open(url, password: password, node: node, id: 0, logger: logger)
        defer { _ = try? connection.close().wait() }
        let tx = Tx(connection: connection, logger: logger)
        let (number, version, encoding, mayCreate) = try tx.query("""
            SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_setting('server_encoding'),
                   has_schema_privilege(current_schema(), 'CREATE')
            """).first!.decode((Int, String, String, Bool).self)
        var problems: [String] = []
        if number < PostgresSchema.minimumServer {
            problems.append("the server is PostgreSQL \(version), older than 13: backorderd needs 13 or later")
        }
        if encoding != "UTF8" {
            problems.append("the database's encoding is \(encoding): create it with ENCODING 'UTF8' (names and messages are UTF-8)")
        }
        let made = try tx.query("SELECT to_regclass('schema_version') IS NOT NULL").first?.decode(Bool.self) ?? false
        let schema = made ? try tx.query("SELECT COALESCE(MAX(version), 0) FROM schema_version").first?.decode(Int.self) ?? 0 : 0
        if schema > PostgresSchema.known { problems.append(PostgresStoreError.newerSchema(schema, known: PostgresSchema.known).description) }
        if schema < PostgresSchema.known, !mayCreate {
            problems.append("user \(url.user) may not create tables in the database's schema, and the daemon must make or update them: "
                            + "GRANT CREATE ON SCHEMA public TO \(url.user), or make it the database's owner")
        }
        return PostgresProbe(serverVersion: version, schema: schema, known: PostgresSchema.known, problems: problems)
    }
}
