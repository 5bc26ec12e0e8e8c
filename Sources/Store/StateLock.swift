import Foundation

/// The claim one daemon holds on its state directory for as long as it runs.
///
/// The daemon's decision state lives in its memory and reaches SQLite only at
/// checkpoints; a second daemon on the same directory would decide from its own copy
/// and write over the first one's checkpoints. So `run` takes an exclusive `flock` on
/// `backorderd.lock` in the state directory before it opens the state, and holds it
/// until the process ends (the kernel lets go of it on any exit, kill -9 included; a
/// stale file left behind is harmless). The lock is taken on the state directory
/// itself too: a file can be deleted under a running daemon (a clean-up script, a
/// person), after which a second daemon would lock a new file of the same name; the
/// directory cannot be unlinked while it holds the state. The file keeps the holder's
/// pid for the message. The support commands (`status`, `order`, `dead-letters`,
/// `replay`) go through SQLite and do not take it.
public final class StateLock: Sendable {
    public static let fileName = "backorderd.lock"
    private let fd: Int32
    private let directoryFD: Int32

    /// Takes the lock (making the directory first if need be), or throws naming the
    /// process that holds it. Taken before the state is opened, so that a second daemon
    /// does not even migrate the schema under the first.
    public init(directory: String) throws {
        try Store.prepareDirectory(directory)
        let path = directory + "/" + Self.fileName
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else {
            throw StoreError.setup("cannot open the state directory \(directory): \(String(cString: strerror(errno)))")
        }
        guard flock(dfd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(dfd)
            guard busy else { throw StoreError.setup("cannot lock the state directory \(directory): \(reason)") }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw StoreError.setup("another backorderd\(holder.isEmpty ? "" : " (pid \(holder))") is running on the state directory \(directory); "
                                   + "stop it first, or give this one a state.directory of its own")
        }
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            close(dfd)
            throw StoreError.setup("cannot create \(path): \(String(cString: strerror(errno))) (check state.directory and its owner)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(dfd)
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard busy else { throw StoreError.setup("cannot lock \(path): \(reason)") }
            let holder = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            throw StoreError.setup("another backorderd\(holder.isEmpty ? "" : " (pid \(holder))") is running on the state directory \(directory); "
                                   + "stop it first, or give this one a state.directory of its own")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
        directoryFD = dfd
    }

    deinit {
        close(fd)
        close(directoryFD)
    }
}
