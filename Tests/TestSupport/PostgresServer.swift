#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A throwaway PostgreSQL cluster for tests: `initdb` on a temporary directory, `pg_ctl`
/// on a free loopback port, trust authentication, one database per `database(_:)`. Run
/// as the `postgres` user when the tests run as root (initdb refuses root), as the
/// tests' own user otherwise. `scripts/deps.sh --test` installs Debian's `postgresql`.
///
/// One cluster per test process (`shared`), stopped when the process ends.
public final class PostgresServer: @unchecked Sendable {
    public private(set) var port = 0
    public let directory: String
    public let user: String
    private let bin: String
    private let runAs: String?
    private let lock = NSLock()
    private var made = 0

    /// The cluster the tests share, started on first use.
    public static let shared: Result<PostgresServer, any Error> = Result { try PostgresServer() }

    /// Where Debian puts the server's programs: the newest version installed.
    static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
        guard let v = versions.last else {
            throw PostgresServerError("no PostgreSQL server under \(root): run scripts/deps.sh --test (Debian's postgresql)")
        }
        return "\(root)/\(v)/bin"
    }

    public init() throws {
        bin = try Self.binDirectory()
        let root = geteuid() == 0
        runAs = root ? "postgres" : nil
        user = root ? "postgres" : (ProcessInfo.processInfo.environment["USER"] ?? String(cString: getpwuid(geteuid()).pointee.pw_name))
        var template = Array((NSTemporaryDirectory() + "/backorderd-pg-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw PostgresServerError("cannot make a temporary directory") }
        directory = String(cString: dir)
        if root {
            let pw = getpwnam("postgres")
            guard let pw else { throw PostgresServerError("no postgres user: install Debian's postgresql (scripts/deps.sh --test)") }
            chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        Self.stopOrphans()
        try "\(getpid())".write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)
        try run(bin + "/initdb", ["-D", directory + "/data", "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8", "--locale=C"])
        // A free port can be taken by another process before the server binds it: try again.
        var attempt = 0
        while true {
            let port = try Self.freePort()
            do {
                try run(bin + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", Self.options(port), "-w", "start"])
                self.port = port
                break
            } catch where attempt < 3 {
                attempt += 1
            }
        }
        atexit_stop.append(self)
    }

    /// Stops the clusters of test processes that were killed before they could (a
    /// timeout, kill -9): their `owner.pid` names a process that is gone.
    static func stopOrphans() {
        let tmp = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix("backorderd-pg-") {
            let dir = tmp + "/" + name
            guard let text = try? String(contentsOfFile: dir + "/owner.pid", encoding: .utf8), let pid = Int32(text),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            if let pidText = try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8),
               let server = Int32(pidText.split(separator: "\n").first ?? "") {
                kill(server, SIGQUIT)  // the postmaster's immediate shutdown
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// A new empty database on the cluster; returns its URL (`postgresql://user@127.0.0.1:PORT/NAME`).
    public func database(_ prefix: String = "t") throws -> String {
        let name = lock.withLock { made += 1; return "\(prefix)_\(getpid())_\(made)" }
        try run(bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, name])
        return "postgresql://\(user)@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    static func options(_ port: Int) -> String {
        "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories='' -c fsync=off "
            + "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    }

    /// Stops the server (its sessions end), keeping its data: `resume` starts it again.
    public func pause() throws {
        try run(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Starts the paused server again, on the same port (tried again for a few seconds
    /// if something holds it for a moment).
    public func resume() throws {
        var attempt = 0
        while true {
            do {
                return try run(bin + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", Self.options(port), "-w", "start"])
            } catch where attempt < 5 {
                attempt += 1
                sleep(1)
            }
        }
    }

    public func stop() {
        _ = try? run(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a program to its end (as `postgres` when the tests run as root), its output
    /// to a file — not a pipe: the server pg_ctl starts would hold a pipe open for its
    /// whole life. posix_spawn and waitpid, so that nothing depends on a run loop.
    private func run(_ program: String, _ args: [String]) throws {
        // From the cluster's directory: the postgres user may not enter the tests' own.
        let argv = ["/usr/bin/env", "-C", directory] + (runAs.map { ["/usr/sbin/runuser", "-u", $0, "--", program] } ?? [program]) + args
        let log = directory + "/command.log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        guard rc == 0 else { throw PostgresServerError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0 && (status >> 8) & 0xff == 0
        guard exited else {
            throw PostgresServerError("\((program as NSString).lastPathComponent) \(args.joined(separator: " ")) failed: "
                                      + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }

    /// A port free now, below the kernel's ephemeral range (32768 and up on Linux): a
    /// paused server starts again on its port, which an outgoing connection's local port
    /// must not have taken meanwhile.
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw PostgresServerError("socket: \(errno)") }
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let bound = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { return port }
        }
        throw PostgresServerError("no free port between 20000 and 32000")
    }
}

/// Clusters to stop when the test process exits.
nonisolated(unsafe) private var atexit_stop: [PostgresServer] = {
    atexit { for s in atexit_stop { s.stop() } }
    return []
}()

public struct PostgresServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
