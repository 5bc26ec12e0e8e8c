#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Foundation
import GRDB
import Logging

/// The daemon's state on SQLite: one database (WAL) in the state directory, plus
/// `rejected.jsonl` beside it. Storage only — it decides nothing: it implements the
/// backend seam (`StateStore` for the engine, `OutboxStore` for the dispatcher, the
/// pages and the support commands). Every SQL statement of the project lives in this module.
///
/// The directory is created `0700` and its files `0600`: they hold customers' contact
/// details.
public final class Store: @unchecked Sendable {
    public let directory: String
    let writer: DatabasePool
    let rejects: RejectLog
    /// Zones of the lines read by the support reads are interned here; the calendar of
    /// `policy.timezone`, which also places bare dates written by an earlier release.
    let calendar: DayCalendar
    /// The time, for the state's identity (when it was made).
    let clock: @Sendable () -> Instant
    let logger: Logger

    public static let databaseName = "backorderd.sqlite"

    /// Opens (creating if needed) the state in `directory` and migrates it; with
    /// `migrates: false` (the support commands) a state at an older schema is refused
    /// instead. A directory that held a state and lost it is refused (`StateRefusal`).
    public init(directory: String, calendar: DayCalendar = DayCalendar(), migrates: Bool = true,
                clock: @escaping @Sendable () -> Instant = { Instant.now() },
                logger: Logger = Logger(label: "backorderd.store")) throws {
        self.directory = directory
        self.calendar = calendar
        self.clock = clock
        self.logger = logger
        _ = SQLiteProcess.configured
        try Self.prepareDirectory(directory)
        let path = directory + "/" + Self.databaseName
        let marker = try StateIdentity.read(directory)
        var st = stat()
        let exists = stat(path, &st) == 0
        if let marker, !exists || st.st_size == 0 {
            throw StateRefusal(description: "the state directory \(directory) held a state (id \(marker.id), made \(marker.created)), "
                               + "but \(path) is \(exists ? "empty" : "missing"); nothing was started, so nothing is sent twice. "
                               + StateRefusal.advice(directory))
        }
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw StoreError.setup("cannot create \(path): \(String(cString: strerror(errno))) (check state.directory and its owner)")
        }
        fchmod(fd, 0o600)
        close(fd)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 2
        config.prepareDatabase { db in
            // An 8 MiB page cache for the writer (SQLite's default is 2 MB): checkpoints that
            // write 100,000 rows or queue 50,000 messages re-read index pages and spill dirty
            // ones to the WAL mid-transaction with the default (Benchmarks/ingest.sh: 6.9–7.1 s
            // with 2 MB, 5.3–5.7 s with 8 MiB, 5.2–5.4 s with 16 MiB for 10 MiB more peak
            // memory; same session). Readers keep the default.
            // Checkpoints every 16,000 pages (64 MB of WAL) instead of 1,000: pages written
            // again and again (indexes, the queue's head) reach the database file once per
            // checkpoint, so fewer checkpoints write and fsync less (Benchmarks/delivery.sh:
            // 8,400 → 10,000 messages/s with 100,000 queued). The WAL file is kept to 64 MB.
            try db.execute(sql: db.configuration.readonly ? "PRAGMA synchronous = NORMAL"
                                                          : "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16000; PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -8192")
        }
        let id: String
        do {
            writer = try DatabasePool(path: path, configuration: config)
            let migrator = Schema.migrator(calendar: calendar)
            let hadID = try writer.read { db in try migrator.appliedIdentifiers(db).contains(StateIdentity.migration) }
            if !migrates, try !writer.read({ db in try migrator.hasCompletedMigrations(db) }) {
                // Migrations run under the daemon's lock, with its configuration: a support
                // command beside a daemon of the previous release must not change its file.
                throw StoreError.setup("the state in \(directory) was written by an earlier release; start the daemon "
                                       + "(systemctl restart backorderd) so that it brings it up to date, then run this again")
            }
            try migrator.migrate(writer)
            // A state from before ids (a backup taken before the upgrade, restored here)
            // was just given one: it is the state this directory's id names.
            if let marker, !hadID {
                try writer.write { db in try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'state_id'", arguments: [marker.id]) }
            }
            guard let stored = try writer.read(StateIdentity.id), !stored.isEmpty else {
                throw StoreError.setup("\(path) has no state id (meta.state_id); restore it from a backup")
            }
            id = stored
            if marker == nil {
                // The id reaches the disk before the file that names it (commits are not
                // synced one by one): else a power cut could leave the file naming an id
                // the database never kept, and the next start would refuse the state.
                try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(FULL)") }
            }
        } catch let e as StoreError {
            throw StateIdentity.isCorruption(e) ? Self.corrupt(path, e) : e
        } catch {
            if StateIdentity.isCorruption(error) { throw Self.corrupt(path, error) }
            throw StoreError.setup("cannot open the state database \(path): \(error)")
        }
        if let marker {
            guard marker.id == id else {
                throw StateRefusal(description: "\(path) holds another state (id \(id)) than the one the state directory \(directory) "
                                   + "held (id \(marker.id), made \(marker.created)). If you restored it there on purpose, delete "
                                   + "\(directory)/\(StateIdentity.fileName) and start again. " + StateRefusal.advice(directory))
            }
        } else {
            try StateIdentity.write(.init(id: id, created: RFC3339.format(clock())), to: directory)
        }
        rejects = try RejectLog(path: directory + "/rejected.jsonl")
    }

    static func prepareDirectory(_ directory: String) throws {
        var st = stat()
        if lstat(directory, &st) != 0 {
            var path = ""
            for part in directory.split(separator: "/", omittingEmptySubsequences: false) {
                path += (path.isEmpty && directory.hasPrefix("/") ? "" : (path.isEmpty ? "" : "/")) + part
                if path.isEmpty { path = "/"; continue }
                if mkdir(path, 0o700) != 0, errno != EEXIST {
                    throw StoreError.setup("cannot create the state directory \(directory): \(String(cString: strerror(errno)))")
                }
            }
            guard lstat(directory, &st) == 0 else {
                throw StoreError.setup("cannot create the state directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw StoreError.setup("state.directory \(directory) is not a directory")
        }
        if st.st_mode & 0o077 != 0 {
            guard chmod(directory, 0o700) == 0 else {
                throw StoreError.setup("the state directory \(directory) is open to other users and cannot be made 0700: \(String(cString: strerror(errno)))")
            }
        }
    }
}
