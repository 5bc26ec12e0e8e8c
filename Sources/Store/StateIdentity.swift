#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Foundation
import GRDB

/// What makes a state directory remember that it held a state.
///
/// Everything the daemon decided is in `backorderd.sqlite`; if that file is lost or
/// emptied, a daemon that simply started afresh would re-read every change file still
/// in the inbox and send every message again. So a state gets an id when it is made,
/// kept twice: in the database (`meta.state_id`) and in `backorderd.state-id` beside it.
/// Opening a directory whose id file names a state that is no longer there — the
/// database missing, empty, or another state's — is refused (`StateRefusal`), and so is
/// a database SQLite calls corrupt; the operator restores the backup or says, with
/// `backorderd reset-state`, that starting afresh is meant.
enum StateIdentity {
    static let fileName = "backorderd.state-id"

    /// The id file's contents: `id=…` and `created=…` lines.
    struct Marker: Equatable {
        var id: String
        var created: String
    }

    /// The migration that gives a state its id.
    static let migration = "v8-state-id"

    /// The id file, nil when there is none. One that is there but cannot be read, or
    /// names no id, is refused: taking it for "no state here" would start afresh.
    static func read(_ directory: String) throws -> Marker? {
        let path = directory + "/" + fileName
        guard access(path, F_OK) == 0 else {
            if errno == ENOENT { return nil }
            throw StateRefusal(description: "cannot look at \(path): \(String(cString: strerror(errno))). " + StateRefusal.advice(directory))
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw StateRefusal(description: "\(path) cannot be read (check its owner and mode); it names the state this directory held. "
                               + StateRefusal.advice(directory))
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let id = fields["id"], !id.isEmpty else {
            throw StateRefusal(description: "\(path) names no state id; it was damaged. " + StateRefusal.advice(directory))
        }
        return Marker(id: id, created: fields["created"] ?? "")
    }

    /// Writes the id file atomically (a temporary file, fsync, rename, fsync of the directory).
    static func write(_ m: Marker, to directory: String) throws {
        let path = directory + "/" + fileName
        let tmp = path + ".tmp"
        let fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw StoreError.setup("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let bytes = Array("id=\(m.id)\ncreated=\(m.created)\n".utf8)
        let ok = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            throw StoreError.setup("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// A new random id (128 bits, hex).
    static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let s = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
    }

    /// The database's id, made by the migration that added it.
    static func id(in db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'state_id'")
    }

    /// Whether an error from opening a database says the file is not a usable database.
    static func isCorruption(_ error: any Error) -> Bool {
        if let e = error as? DatabaseError {
            return e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB
        }
        if case .sqlite(let code, _)? = error as? StoreError {
            return code & 0xFF == 11 || code & 0xFF == 26  // SQLITE_CORRUPT, SQLITE_NOTADB
        }
        return false
    }
}

/// A state directory the daemon must not open as it is: the operator decides.
/// `run` exits 78 on it, which the unit's `RestartPreventExitStatus` takes as final.
public struct StateRefusal: Error, CustomStringConvertible, Sendable {
    public let description: String

    static func advice(_ directory: String) -> String {
        "Restore the state from your backup (docs/operations.md, \"Backup and restore\"), or, to start afresh on purpose "
            + "(every change file still in the inbox is read again and its messages sent again), run "
            + "`backorderd reset-state --config FILE --yes`, which sets the old files aside in \(directory)"
    }
}

extension Store {
    /// Whether `directory` holds a state (a database, or the id file of one): the support
    /// commands open only such a directory, so that they never make one.
    public static func hasState(_ directory: String) -> Bool {
        var st = stat()
        return (stat(directory + "/" + databaseName, &st) == 0 && st.st_size > 0)
            || access(directory + "/" + StateIdentity.fileName, F_OK) == 0
    }

    /// For a state kept outside the directory (PostgreSQL): the directory remembers the
    /// id of the state this host used, and a database that holds another one — replaced by
    /// an empty one, or the wrong database named — is refused, as a lost SQLite file is.
    /// `holder` names where the state is, for the message.
    public static func pin(stateID id: String, in directory: String, holder: String, clock: () -> Instant = { Instant.now() }) throws {
        try prepareDirectory(directory)
        guard let marker = try StateIdentity.read(directory) else {
            try StateIdentity.write(.init(id: id, created: RFC3339.format(clock())), to: directory)
            return
        }
        guard marker.id != id else { return }
        throw StateRefusal(description: "\(holder) holds another state (id \(id)) than the one this host's state directory \(directory) "
                           + "last used (id \(marker.id), made \(marker.created)); nothing was started, so nothing is sent twice. "
                           + "If it is the wrong database, point state.url at the right one. To move a SQLite state there, use "
                           + "`backorderd migrate --from-sqlite DIR` (it keeps the id). If starting afresh there is meant (every change "
                           + "file still in the inbox is read again and its messages sent again), delete "
                           + "\(directory)/\(StateIdentity.fileName) and start again")
    }

    /// The refusal for a database SQLite cannot read.
    static func corrupt(_ path: String, _ error: any Error) -> StateRefusal {
        StateRefusal(description: "\(path) is damaged (\(error)). "
                     + StateRefusal.advice((path as NSString).deletingLastPathComponent))
    }

    /// `error` as the operator must see it: a refusal when it says the database is damaged.
    public func refusalIfCorrupt(_ error: any Error) -> any Error {
        StateIdentity.isCorruption(error) ? Self.corrupt(directory + "/" + Self.databaseName, error) : error
    }

    /// Sets the state files of `directory` aside, under their own names in the folder
    /// `directory/suffix` (so the database still finds its WAL there), and forgets its id:
    /// the next start makes a new, empty state. Returns the files moved. The caller holds
    /// the directory's `StateLock`.
    public static func setAside(_ directory: String, suffix: String) throws -> [String] {
        var moved: [String] = []
        let folder = directory + "/" + suffix
        for name in [databaseName, databaseName + "-wal", databaseName + "-shm", StateIdentity.fileName] {
            let path = directory + "/" + name
            guard access(path, F_OK) == 0 else { continue }
            if moved.isEmpty, mkdir(folder, 0o700) != 0, errno != EEXIST {
                throw StoreError.setup("cannot make \(folder): \(String(cString: strerror(errno)))")
            }
            let to = folder + "/" + name
            guard rename(path, to) == 0 else {
                throw StoreError.setup("cannot rename \(path) to \(to): \(String(cString: strerror(errno)))")
            }
            moved.append(to)
        }
        return moved
    }
}
