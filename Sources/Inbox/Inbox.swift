#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Logging

/// Follows the change files of one directory and hands their lines to an `IngestSink`.
///
/// Runs on a thread of its own (`run` blocks): inotify wakes it the moment a producer
/// writes, the sink decides each batch synchronously (and may write a checkpoint), and
/// nothing here ever blocks the cooperative thread pool. `stop()` may be called from
/// any thread.
public final class Inbox: @unchecked Sendable {
    private struct Tracked {
        var cursor: FileCursor
        var csvHeader: [String]?
        var lastSize: Int64 = -1
        var lastGrowth: ContinuousClock.Instant
        var partial = false
    }

    private let settings: InboxSettings
    private let sink: any IngestSink
    private let reader: ChangeFileReader
    private let logger: Logger
    private let now: @Sendable () -> Instant
    private let wake: WakePipe
    private let lock = Lock()
    /// Called each time the loop goes round (at least once a second) and after each
    /// committed batch: the watchdog's pulse.
    public var onLoop: @Sendable () -> Void = {}

    // Inbox-thread state.
    private var files: [FileID: Tracked] = [:]
    private var stored: [FileID: FileCursor] = [:]
    private var dirty = NameQueue()
    private var warned: Set<String> = []
    private var stopping = false
    private var retryAt: ContinuousClock.Instant?
    private var lastScan = ContinuousClock.now

    /// Counters for status lines and tests; read from any thread.
    public struct Counters: Sendable, Equatable {
        public var records = 0
        public var rejected = 0
        public var batches = 0
    }
    private var _counters = Counters()
    public var counters: Counters { lock.withLock { _counters } }

    public init(settings: InboxSettings, sink: any IngestSink, decoder: RecordDecoder, logger: Logger,
                now: @escaping @Sendable () -> Instant) throws(InboxError) {
        self.settings = settings
        self.sink = sink
        self.reader = ChangeFileReader(decoder: decoder)
        self.logger = logger
        self.now = now
        self.wake = try WakePipe()
    }

    /// Asks `run` to return after the batch it is applying.
    public func stop() {
        lock.withLock { stopping = true }
        wake.wake()
    }

    private var shouldStop: Bool { lock.withLock { stopping } }

    /// Catches up on every file, calls `caughtUp`, then follows the directory until `stop()`.
    public func run(caughtUp: () -> Void) throws(InboxError) {
        let watcher = settings.inotify ? try Inotify(directory: settings.directory) : Inotify()
        do {
            for c in try sink.loadCursors() { stored[c.id] = c }
        } catch {
            throw InboxError.setup("cannot read the stored file offsets: \(error)")
        }
        try scanAll()
        goIdle()
        caughtUp()
        while !shouldStop {
            onLoop()
            goIdle()
            waitForWork(watcher: watcher)
            if shouldStop { break }
            var rescan = false
            for event in watcher.drain() {
                switch event.kind {
                case .changed: markDirty(event.name)
                case .gone, .overflow: rescan = true
                case .lost:
                    rescan = true
                    logger.warning("inbox_watch_lost", metadata: ["directory": "\(settings.directory)",
                                                                  "detail": "the directory was removed or moved; watching for it to come back"])
                }
            }
            if !watcher.watching, watcher.rewatch() {
                logger.info("inbox_watch_restored", metadata: ["directory": "\(settings.directory)"])
                rescan = true
            }
            let clock = ContinuousClock.now
            if let interval = settings.pollInterval, clock - lastScan >= interval.duration { rescan = true }
            if let retry = retryAt, clock >= retry { rescan = true; retryAt = nil }
            if rescan {
                try scanAll()
            } else {
                for (_, t) in files where t.partial { markDirty(t.cursor.name) }
                processDirty()
            }
        }
        goIdle()  // stopping: what was decided is written before the daemon exits
    }

    /// Tells the sink there is nothing more to read for now, so what it decided becomes
    /// durable and visible; a store error is logged and tried again next time round.
    private func goIdle() {
        do {
            try sink.idle()
        } catch {
            logger.error("store_error", metadata: ["action": "checkpoint; retrying", "error": "\(error)"])
            retryAt = ContinuousClock.now + .seconds(1)
        }
    }

    private func markDirty(_ name: String) {
        dirty.append(name)
    }

    private func waitForWork(watcher: Inotify) {
        // At most a second: the loop's pulse keeps the systemd watchdog fed while idle.
        var timeout: Duration? = .seconds(1)
        let clock = ContinuousClock.now
        func consider(_ d: Duration) { timeout = min(timeout ?? d, d) }
        if let interval = settings.pollInterval { consider(max(.zero, interval.duration - (clock - lastScan))) }
        if let retry = retryAt { consider(max(.zero, retry - clock)) }
        for (_, t) in files where t.partial {
            consider(max(.zero, settings.settle.duration - (clock - t.lastGrowth)))
        }
        var fds = [pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
        let ms: Int32
        if let t = timeout {
            let (s, atto) = t.components
            ms = Int32(clamping: s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000)
        } else {
            ms = -1
        }
        _ = poll(&fds, 2, ms)
        if fds[1].revents != 0 { wake.clear() }
    }

    /// Lists the directory; follows new and changed files, forgets the ones gone.
    private func scanAll() throws(InboxError) {
        lastScan = ContinuousClock.now
        guard let dir = opendir(settings.directory) else {
            logger.error("inbox_unreadable", metadata: ["directory": "\(settings.directory)", "error": "\(String(cString: strerror(errno)))"])
            retryAt = ContinuousClock.now + .seconds(5)
            return
        }
        var found: [(name: String, mtime: Int64, id: FileID)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard settings.accepts(name) else { continue }
            var st = stat()
            guard lstat(settings.directory + "/" + name, &st) == 0 else { continue }
            guard isRegular(st, name: name) else { continue }
            found.append((name, Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                          FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))))
        }
        closedir(dir)
        let present = Set(found.map(\.id))
        let gone = Set(files.keys).union(stored.keys).subtracting(present)
        if !gone.isEmpty {
            do {
                try sink.forget(Array(gone))
                for id in gone {
                    if let t = files[id] {
                        logger.info("file_gone", metadata: ["file": "\(t.cursor.name)", "offset": "\(t.cursor.offset)"])
                    }
                    files[id] = nil
                    stored[id] = nil
                }
            } catch {
                logger.error("store_error", metadata: ["action": "forget", "error": "\(error)"])
            }
        }
        found.sort { ($0.mtime, $0.name) < ($1.mtime, $1.name) }
        let ordered = found.map(\.name)
        // Keep inotify's order for names already waiting; add the rest in start-up order.
        for name in ordered { dirty.append(name) }
        processDirty()
    }

    private func isRegular(_ st: stat, name: String) -> Bool {
        let type = st.st_mode & S_IFMT
        if type == S_IFREG { return true }
        if !warned.contains(name) {
            warned.insert(name)
            let what = type == S_IFLNK ? "a symbolic link" : "not a regular file"
            logger.warning("file_skipped", metadata: ["file": "\(name)", "reason": "\(what); only regular files are read, links are never followed"])
        }
        return false
    }

    private func processDirty() {
        while !dirty.isEmpty, !shouldStop {
            let name = dirty.removeFirst()
            guard settings.accepts(name) else { continue }
            if !process(name) {
                retryAt = ContinuousClock.now + .seconds(1)
                return
            }
        }
    }

    /// Applies what is new in one file. Returns false when the sink failed and the
    /// file must be tried again later.
    private func process(_ name: String) -> Bool {
        let path = settings.directory + "/" + name
        var st = stat()
        guard lstat(path, &st) == 0, isRegular(st, name: name) else { return true }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno != ENOENT {
                logger.warning("file_unreadable", metadata: ["file": "\(name)", "error": "\(String(cString: strerror(errno)))"])
            }
            return true
        }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return true }
        let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        let size = Int64(st.st_size)
        let clock = ContinuousClock.now
        var t = files[id] ?? adopt(id: id, name: name, fd: fd, clock: clock)
        if t.cursor.name != name {
            logger.info("file_renamed", metadata: ["file": "\(name)", "was": "\(t.cursor.name)"])
            t.cursor.name = name
        }
        if size < t.cursor.offset {
            logger.warning("file_truncated", metadata: ["file": "\(name)", "size": "\(size)", "offset": "\(t.cursor.offset)",
                                                         "action": "reading it again from the start"])
            t.cursor = FileCursor(id: id, name: name)
            t.csvHeader = nil
        } else if t.cursor.offset > 0, !((try? reader.stillHolds(t.cursor, fd: fd)) ?? true) {  // unreadable: tried again later
            logger.warning("file_rewritten", metadata: ["file": "\(name)", "size": "\(size)", "offset": "\(t.cursor.offset)",
                                                         "action": "\(Self.rewrittenAction)"])
            t.cursor = FileCursor(id: id, name: name)
            t.csvHeader = nil
        }
        if size != t.lastSize {
            t.lastSize = size
            t.lastGrowth = clock
        }
        defer { files[id] = t }
        while !shouldStop {
            let settled = clock - t.lastGrowth >= settings.settle.duration
            let outcome: ChangeFileReader.Reading
            do {
                outcome = try reader.read(fd: fd, cursor: t.cursor, csvHeader: &t.csvHeader, maxLines: settings.batchLines,
                                          flushPartial: settled, now: now())
            } catch {
                logger.error("file_unreadable", metadata: ["file": "\(name)", "error": "\(error)"])
                return true
            }
            t.partial = outcome.partial
            let batch = outcome.batch
            guard batch.cursor != t.cursor else { break }
            let result: IngestResult
            do {
                result = try sink.apply(batch)
            } catch {
                logger.error("store_error", metadata: ["file": "\(name)", "error": "\(error)",
                                                        "action": "nothing was applied; retrying in 1s"])
                return false
            }
            let committed = result.cursor
            for r in result.rejects {
                logger.warning("rejected", metadata: ["file": "\(r.file):\(r.line)", "reason": "\(r.reason)"])
            }
            lock.withLock {
                _counters.records += result.applied
                _counters.rejected += result.rejects.count
                _counters.batches += 1
            }
            // A batch the engine cut short (out of time) comes back without its tail
            // fingerprint: take it here, from the open file.
            t.cursor = committed.tailHash == nil ? ((try? reader.fingerprint(committed, fd: fd)) ?? committed) : committed
            onLoop()  // each committed batch is progress: a long file does not starve the watchdog
            // The sink may have committed only part of the batch: read on from where it stopped.
            if !outcome.more && committed == batch.cursor { break }
        }
        return true
    }

    /// Starts following a file: from its stored cursor if the file is the one the
    /// cursor was written for, otherwise from the start.
    private func adopt(id: FileID, name: String, fd: Int32, clock: ContinuousClock.Instant) -> Tracked {
        guard let c = stored.removeValue(forKey: id) else {
            return Tracked(cursor: FileCursor(id: id, name: name), lastGrowth: clock)
        }
        // A read error keeps the cursor (the file is tried again): only bytes that differ
        // make it a new file.
        if !((try? reader.stillHolds(c, fd: fd)) ?? true) {
            logger.warning("file_replaced", metadata: ["file": "\(name)", "offset": "\(c.offset)", "action": "\(Self.rewrittenAction)"])
            return Tracked(cursor: FileCursor(id: id, name: name), lastGrowth: clock)
        }
        return Tracked(cursor: c, lastGrowth: clock)
    }

    /// What the inbox does when the bytes it applied are no longer the file's.
    static let rewrittenAction = "the bytes already applied changed (rewritten in place, or a new file on an old inode); "
        + "reading it again from the start as a new file (producers should write a new file and rename it in)"
}
