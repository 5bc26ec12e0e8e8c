#if canImport(Glibc)
import Glibc
#endif

/// A thin owner of one inotify descriptor watching one directory.
///
/// Only the inbox thread calls it: `poll` waits on the descriptor and on a wake pipe,
/// `drain` reads what the kernel queued. Written by hand because no listed library
/// wraps inotify.
final class Inotify {
    /// One change the kernel reported for a name in the directory.
    struct Event {
        /// `lost`: the directory itself was removed or moved; the watch is gone with it.
        enum Kind { case changed, gone, overflow, lost }
        var kind: Kind
        var name: String
    }

    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private let directory: String?
    /// Whether the directory is watched (false once it was removed or moved, until
    /// `rewatch` finds it again).
    private(set) var watching: Bool
    /// Attribute changes too: a file made readable after it arrived (`chmod`) is news.
    private static let mask = UInt32(IN_CREATE) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MODIFY)
        | UInt32(IN_ATTRIB) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
        | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK)

    /// A watcher that never reports anything (inotify switched off).
    init() {
        fd = -1
        directory = nil
        watching = true
    }

    init(directory: String) throws(InboxError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw InboxError.io("inotify_init1", errno) }
        guard inotify_add_watch(fd, directory, Self.mask) >= 0 else {
            let code = errno
            close(fd)
            throw InboxError.io("watching \(directory) with inotify (raise fs.inotify.max_user_watches if the limit is reached)", code)
        }
        self.fd = fd
        self.directory = directory
        watching = true
    }

    /// Watches the directory again after it was removed or moved away; true once it is
    /// watched (a directory of that name is there again).
    func rewatch() -> Bool {
        guard !watching, fd >= 0, let directory else { return true }
        watching = inotify_add_watch(fd, directory, Self.mask) >= 0
        return watching
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Reads every queued event without blocking.
    func drain() -> [Event] {
        var events: [Event] = []
        guard fd >= 0 else { return events }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return events }
            buffer.withUnsafeBytes { raw in
                var off = 0
                let header = MemoryLayout<inotify_event>.size
                while off + header <= n {
                    let base = raw.baseAddress! + off
                    let wd = base.loadUnaligned(fromByteOffset: 0, as: Int32.self)
                    let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                    let len = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                    var name = ""
                    if len > 0 {
                        let p = (base + header).assumingMemoryBound(to: CChar.self)
                        name = String(cString: p)
                    }
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        events.append(Event(kind: .overflow, name: ""))
                    } else if mask & (UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)) != 0 {
                        events.append(Event(kind: .gone, name: name))
                    } else if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED)) != 0 {
                        // Moved away, the old watch would follow the directory elsewhere: drop it.
                        if mask & UInt32(IN_MOVE_SELF) != 0 { inotify_rm_watch(fd, wd) }
                        watching = false
                        events.append(Event(kind: .lost, name: ""))
                    } else if !name.isEmpty {
                        events.append(Event(kind: .changed, name: name))
                    }
                    off += header + len
                }
            }
        }
    }
}

/// A self-pipe that lets another thread wake the inbox thread out of `poll`.
final class WakePipe: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws(InboxError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw InboxError.io("pipe", errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func wake() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    func clear() {
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(readFD, $0.baseAddress, 64) }) > 0 {}
    }
}
