import BackorderCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The daemon's state on PostgreSQL: the same tables as the SQLite backend, behind the
/// same seam (`StateStore`). Storage only — it decides nothing. Every SQL statement of
/// this backend lives in this module.
///
/// The seam's calls are synchronous and come from the daemon's own threads (the inbox,
/// the checkpoint writer, the dispatcher), never from an event loop: each waits for its query on a
/// connection of its own — the writer's for the checkpoint's transaction and the
/// customer read-back, the reader's for the deciding thread's reads and the inbox's
/// cursors, the dispatcher's for claims and outcomes, the pages' for everything a person
/// asks — so a checkpoint never waits behind a read or a claim.
public final class PostgresStore: @unchecked Sendable {
    public let url: PostgresURL
    let calendar: DayCalendar
    let logger: Logger
    /// The checkpoint's transaction and the customer read-back (the writer's thread).
    let writer: Session
    /// The deciding thread's reads: the state at start, late copies of closed lines, cursors.
    let reader: Session
    /// The dispatcher's claims and outcomes.
    let dispatch: Session
    /// The status page's, `/metrics`' and the support commands' reads (and dead-letter
    /// changes), so that a page never holds up the deciding thread or the dispatcher.
    let pages: Session

    /// Opens four connections to `url` (named `backorderd/NODE` in `pg_stat_activity`),
    /// brings the schema up to date under a lock, and refuses a schema newer than this
    /// binary knows. With `migrates: false` (the support commands, beside a daemon that
    /// may be of another release) a database the daemon has not set up, or set up at an
    /// older schema, is refused instead of changed.
    public init(url: PostgresURL, password: String? = nil, node: String = "backorderd", migrates: Bool = true,
                calendar: DayCalendar = DayCalendar(), logger: Logger = Logger(label: "backorderd.postgres")) throws {
        self.url = url
        self.calendar = calendar
        self.logger = logger
        var sessions: [Session] = []
        do {
            for id in 1...4 {
                // The dispatcher's statements are small: the server ends one after 10 s, and
                // one unanswered for 15 s means a lost connection (deliveries wait on it).
                let dispatcher = id == 3
                let session = try Session.connect(url, password: password, node: node, id: id,
                                                  statementTimeout: dispatcher ? 10_000 : 60_000, logger: logger)
                if dispatcher { session.bound = .seconds(15) }
                sessions.append(session)
            }
            if migrates {
                // One daemon a database in this release, taken before anything is made or
                // changed: the writer's connection holds a session lock (let go by the server
                // when the session ends, kill -9 included), and takes it again on each new
                // connection before it writes.
                let hold: @Sendable (Tx) throws -> Void = { [url] tx in try Self.holdDatabase(tx, url: url) }
                // A daemon killed a moment ago holds it until the server sees its connection
                // end: wait for that a little before refusing.
                var waited = 0
                while true {
                    do {
                        try sessions[0].transactionless(hold)
                        break
                    } catch PostgresStoreError.anotherDaemon where waited < 50 {
                        waited += 1
                        usleep(200_000)
                    }
                }
                sessions[0].onOpen = hold
                try PostgresSchema.migrate(sessions[0])
            } else {
                try PostgresSchema.expectCurrent(sessions[0], url: url)
            }
        } catch {
            for s in sessions { s.close() }
            throw error
        }
        (writer, reader, dispatch, pages) = (sessions[0], sessions[1], sessions[2], sessions[3])
    }

    /// The session lock that keeps a second daemon off a database (`docs/postgresql.md`).
    static let daemonLock: Int64 = PostgresSchema.lock + 1

    static func holdDatabase(_ tx: Tx, url: PostgresURL) throws {
        guard try tx.query("SELECT pg_try_advisory_lock(\(daemonLock))").first?.decode(Bool.self) == true else {
            let holders = (try? tx.query("""
                SELECT string_agg(DISTINCT a.application_name, ', ') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.objid = \(Int64(daemonLock & 0xFFFF_FFFF)) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """).first?.decode(String?.self)) ?? nil
            throw PostgresStoreError.anotherDaemon("another backorderd is running on \(url.description) (\(holders ?? "see pg_stat_activity")): "
                                                   + "in this release one daemon uses a database; stop the other one, or give this one its own database")
        }
    }

    /// The state's id (`meta.state_id`), made with the schema: the state directory of
    /// each host remembers it, so that a database replaced by an empty one is noticed.
    public func stateID() throws -> String {
        try pages.query("SELECT value FROM meta WHERE key = 'state_id'").first?.decode(String.self) ?? ""
    }

    deinit {
        for s in [writer, reader, dispatch, pages] { s.close() }
    }

    /// One connection, used by one thread at a time (a lock makes sure), opened again
    /// when it was lost (a server restart, a failover, an idle timeout on the way): the
    /// call that found it lost fails, and the next one — a checkpoint goes again with the
    /// next — runs on a new connection.
    final class Session: @unchecked Sendable {
        private var connection: PostgresConnection
        let logger: Logger
        private let url: PostgresURL
        private let password: String?
        private let node: String
        private let id: Int
        private let lock = NSLock()
        /// How long one of its statements may go unanswered (`Tx.bound`); set before use.
        var bound: TimeAmount = Tx.bound
        /// The server's `statement_timeout` for it, in milliseconds; shorter than `bound`.
        var statementTimeout = 60_000

        private init(connection: PostgresConnection, url: PostgresURL, password: String?, node: String, id: Int, logger: Logger) {
            self.connection = connection
            self.url = url
            self.password = password
            self.node = node
            self.id = id
            self.logger = logger
        }

        static func connect(_ url: PostgresURL, password: String?, node: String, id: Int, statementTimeout: Int = 60_000,
                            logger: Logger) throws -> Session {
            let s = Session(connection: try open(url, password: password, node: node, id: id, statementTimeout: statementTimeout, logger: logger),
                            url: url, password: password, node: node, id: id, logger: logger)
            s.statementTimeout = statementTimeout
            return s
        }

        /// `application_name` of a node's connections (the server keeps 63 bytes).
        static func applicationName(_ node: String) -> String { String(("backorderd/" + node).utf8.prefix(63))! }

        static func open(_ url: PostgresURL, password: String?, node: String, id: Int, statementTimeout: Int = 60_000,
                         logger: Logger) throws -> PostgresConnection {
            let tls: PostgresConnection.Configuration.TLS
            switch url.tls {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var c = TLSConfiguration.makeClientConfiguration()
                c.certificateVerification = .none  // libpq's meaning: encrypted, the server not verified
                let context = try NIOSSLContext(configuration: c)
                tls = url.tls == .prefer ? .prefer(context) : .require(context)
            case .verifyFull:
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            var config = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: password,
                                                          database: url.database, tls: tls)
            config.options.connectTimeout = .seconds(10)
            // Text as UTF-8 whatever the role's default; no statement, and no transaction
            // left open, outlives a minute (a frozen daemon's locks are let go).
            config.options.additionalStartupParameters = [
                ("client_encoding", "UTF8"), ("statement_timeout", "\(statementTimeout)"), ("idle_in_transaction_session_timeout", "60000"),
                ("application_name", applicationName(node)),
                // The server finds a client gone silent (a host or a NAT that dropped it) in
                // about a minute, and lets go of what its session held.
                ("tcp_keepalives_idle", "30"), ("tcp_keepalives_interval", "10"), ("tcp_keepalives_count", "3"),
            ]
            do {
                return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: config,
                                                      id: id, logger: logger).wait()
            } catch {
                throw PostgresStoreError.connect(url, error)
            }
        }

        /// The connection, opened again if it was lost. Call holding `lock`.
        private func live() throws -> Tx {
            if connection.isClosed {
                logger.warning("postgres_reconnect", metadata: ["url": "\(url.description)", "connection": "\(id)"])
                connection = try Self.open(url, password: password, node: node, id: id, statementTimeout: statementTimeout, logger: logger)
                if let onOpen {
                    do {
                        try onOpen(Tx(connection: connection, logger: logger, bound: bound))
                    } catch {
                        let _: EventLoopFuture<Void> = connection.close()
                        throw error
                    }
                }
            }
            return Tx(connection: connection, logger: logger, bound: bound)
        }

        /// Run on each new connection but the first (a lock the session holds, taken again).
        var onOpen: (@Sendable (Tx) throws -> Void)?

        /// Runs `body` on the connection, outside any transaction.
        func transactionless<T>(_ body: (Tx) throws -> T) throws -> T {
            try lock.withLock { try body(try live()) }
        }

        /// Runs one statement and collects its rows.
        @discardableResult
        func query(_ q: PostgresQuery) throws -> PostgresQueryResult {
            try lock.withLock { try live().query(q) }
        }

        /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
        func transaction<T>(_ body: (Tx) throws -> T) throws -> T {
            try lock.withLock {
                let tx = try live()
                try tx.query("BEGIN")
                do {
                    let out = try body(tx)
                    try tx.query("COMMIT")
                    return out
                } catch {
                    _ = try? tx.query("ROLLBACK")
                    throw error
                }
            }
        }

        func close() { lock.withLock { _ = try? connection.close().wait() } }
    }
}

/// The connection inside a transaction (or a single statement), its session's lock held.
struct Tx {
    let connection: PostgresConnection
    let logger: Logger
    /// How long a statement may go unanswered before the connection is given up.
    var bound: TimeAmount = Tx.bound

    /// The server ends any statement after `statement_timeout` (60 s); a statement
    /// unanswered for longer went to a connection that is gone without the client being
    /// told (seen when the server stops while statements are sent: the dispatcher waited
    /// forever). Then the connection is closed, the call fails, and the next opens anew.
    static let bound: TimeAmount = .seconds(65)

    /// Runs one statement; a failure says the server's words (postgres-nio's own
    /// description hides them).
    @discardableResult
    func query(_ q: PostgresQuery) throws -> PostgresQueryResult {
        let future = connection.query(q, logger: logger)
        let loop = future.eventLoop
        let answer = loop.makePromise(of: PostgresQueryResult.self)
        let once = Once()  // touched on `loop` only
        let connection = self.connection, bound = self.bound
        let timer = loop.scheduleTask(in: bound) {
            guard once.first() else { return }
            // Closed first: the caller, woken, finds it closed and opens a new one.
            let _: EventLoopFuture<Void> = connection.close()
            answer.fail(PostgresStoreError.server("no answer within \(bound.nanoseconds / 1_000_000_000) s; the connection is closed and opened again at the next call"))
        }
        future.whenComplete { result in
            guard once.first() else { return }
            timer.cancel()
            answer.completeWith(result)
        }
        do {
            return try answer.futureResult.wait()
        } catch {
            throw PostgresStoreError.server(PostgresStoreError.words(error))
        }
    }

    /// True the first time only; used on one event loop.
    private final class Once: @unchecked Sendable {
        private var done = false
        func first() -> Bool {
            defer { done = true }
            return !done
        }
    }
}

/// What went wrong with the PostgreSQL backend, in an operator's words.
public enum PostgresStoreError: Error, CustomStringConvertible {
    case connect(PostgresURL, any Error)
    case newerSchema(Int, known: Int)
    /// Another daemon holds the database (one a database in this release).
    case anotherDaemon(String)
    /// The database has no backorderd tables (the support commands do not make them).
    case noState(PostgresURL)
    case unsupported(String)
    /// A statement failed: the server's message and SQLSTATE (never the detail, which
    /// may quote a customer's data).
    case server(String)

    public var description: String {
        switch self {
        case .connect(let url, let error):
            return "cannot connect to \(url.description): \(Self.connectWords(error, url))"
        case .newerSchema(let found, let known):
            return "the PostgreSQL state is at schema version \(found), newer than this backorderd knows (\(known)): "
                + "run the release that wrote it, or a newer one"
        case .noState(let url):
            return "no backorderd state in \(url.description) yet: the daemon has not run on it "
                + "(or run `backorderd migrate --from-sqlite DIR` to bring a SQLite state there)"
        case .unsupported(let why), .anotherDaemon(let why):
            return why
        case .server(let words):
            return "PostgreSQL: " + words
        }
    }

    /// Why a connection failed, in an operator's words, with what to change.
    static func connectWords(_ error: any Error, _ url: PostgresURL) -> String {
        if let e = error as? PSQLError, let code = e.serverInfo?[.sqlState] {
            switch code {
            case "28P01", "28000":
                return "authentication failed for user \(url.user) (\(words(error))): check the password in state.password_credential "
                    + "or state.password_file, and the server's pg_hba.conf"
            case "3D000":
                return "the database \(url.database) does not exist: create it, e.g. `createdb -O \(url.user) \(url.database)` (\(words(error)))"
            case "53300":
                return "the server has no connection slot left (\(words(error))): raise max_connections, or stop what holds them"
            default:
                return words(error)
            }
        }
        let text = words(error)
        if text.contains("refused") || text.contains("connectTimeout") || text.contains("timed out") || text.contains("unreachable")
            || text.contains("NIOConnectionError") || text.contains("resolve") {
            return "the server is unreachable (\(text)): check state.url's host and port, that PostgreSQL is running and listens there, "
                + "and the firewall"
        }
        return text
    }

    /// The server's message, or what the connection said, without the library's wrapping.
    static func words(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                let code = e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + code
            }
            if let underlying = e.underlying { return "\(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }
}
