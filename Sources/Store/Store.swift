#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Foundation
import GRDB
import Logging

/// The daemon's state: one SQLite database (WAL) in the state directory, plus
/// `rejected.jsonl` beside it. Every SQL statement of the project lives in this module.
///
/// The directory is created `0700` and its files `0600`: they hold customers' contact
/// details.
public final class Store: IngestSink, @unchecked Sendable {
    public let directory: String
    let writer: DatabasePool
    let rejects: RejectLog
    /// What a configuration reload may change while the daemon runs.
    public struct Rules: Sendable {
        public var decider: Decider
        public var grouper: Grouper
        public var renderer: any NoticeRenderer
        public var subscriptions: [Subscription]

        public init(decider: Decider, grouper: Grouper, renderer: any NoticeRenderer, subscriptions: [Subscription]) {
            self.decider = decider
            self.grouper = grouper
            self.renderer = renderer
            self.subscriptions = subscriptions
        }

        /// The message types some endpoint takes.
        var subscribedTypes: Set<String> { Set(subscriptions.flatMap(\.events)) }

        /// The endpoints that take messages of `type`, in configuration order.
        func endpoints(for type: String) -> [Subscription] { subscriptions.filter { $0.events.contains(type) } }

        /// The one path from decided events to messages: grouped into notices, each
        /// counted by type in `decided` (for the metrics), those an endpoint takes returned.
        func notices(from events: [Event], in ws: WorkingSet, counting decided: inout [String: Int]) -> [Notice] {
            guard !events.isEmpty else { return [] }
            let subscribed = subscribedTypes
            var out: [Notice] = []
            for notice in grouper.group(events, in: ws) {
                decided[notice.type, default: 0] += 1
                if subscribed.contains(notice.type) { out.append(notice) }
            }
            return out
        }
    }

    /// The decision state in memory (loaded on first use) and when it is written.
    let engineLock = Lock()
    var engine: Engine?
    var checkpointPolicy: CheckpointPolicy
    /// Writes checkpoints beside the decision pass.
    let checkpointWriter = CheckpointWriter()
    /// The time, for writes that are not given one (a flush when the inbox goes idle).
    let clock: @Sendable () -> Instant

    /// The system's wall clock, in milliseconds (`Instant.now`).
    public static let wallClock: @Sendable () -> Instant = { Instant.now() }
    /// Called with the messages each checkpoint wrote, once they are visible to the
    /// dispatcher, and how many messages of each type were decided since the last one —
    /// those no endpoint takes included (set once, before ingest starts).
    public var onCheckpoint: (@Sendable (_ written: [Notice], _ decided: [String: Int]) -> Void)?
    /// How long one batch is decided before the rest is left for the next read
    /// (`Store.decideBudget`; set once, before ingest starts — tests shorten it).
    public var decideBudget = Store.decideBudget

    private let rulesLock = Lock()
    private var _rules: Rules
    /// The current rules; `update(rules:)` swaps them between transactions.
    public var rules: Rules { rulesLock.withLock { _rules } }
    var decider: Decider { rules.decider }
    var grouper: Grouper { rules.grouper }
    var renderer: any NoticeRenderer { rules.renderer }
    var subscriptions: [Subscription] { rules.subscriptions }
    let logger: Logger

    /// Applies a reloaded configuration's policy, templates and subscriptions.
    public func update(rules: Rules) {
        rulesLock.withLock { _rules = rules }
    }

    public static let databaseName = "backorderd.sqlite"

    /// Opens (creating if needed) the state in `directory` and migrates it; with
    /// `migrates: false` (the support commands) a state at an older schema is refused
    /// instead. A directory that held a state and lost it is refused (`StateRefusal`).
    public init(directory: String, decider: Decider = Decider(), grouper: Grouper = Grouper(),
                renderer: any NoticeRenderer = PlainRenderer(), subscriptions: [Subscription] = [], migrates: Bool = true,
                checkpoints: CheckpointPolicy = CheckpointPolicy(),
                clock: @escaping @Sendable () -> Instant = Store.wallClock,
                logger: Logger = Logger(label: "backorderd.store")) throws {
        self.directory = directory
        self.clock = clock
        self.checkpointPolicy = checkpoints
        self._rules = Rules(decider: decider, grouper: grouper, renderer: renderer, subscriptions: subscriptions)
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
            let migrator = Schema.migrator(calendar: decider.policy.calendar)
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

    // MARK: - IngestSink

    public func loadCursors() throws -> [FileCursor] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT device, inode, name, offset, line, head_length, head_hash, tail_hash FROM inbox_file").map { row in
                FileCursor(id: FileID(device: UInt64(bitPattern: row[0]), inode: UInt64(bitPattern: row[1])), name: row[2],
                           offset: row[3], line: row[4], headLength: row[5], headHash: UInt64(bitPattern: row[6]),
                           tailHash: (row[7] as Int64?).map { UInt64(bitPattern: $0) })
            }
        }
    }

    public func apply(_ batch: IngestBatch) throws -> IngestResult {
        try ingest(batch, force: true)
    }

    public func idle() throws {
        try flush()
    }

    public func forget(_ ids: [FileID]) throws {
        try writer.write { db in
            for id in ids {
                try db.execute(sql: "DELETE FROM inbox_file WHERE device = ? AND inode = ?",
                               arguments: [Int64(bitPattern: id.device), Int64(bitPattern: id.inode)])
            }
        }
    }
}
