import Foundation

/// Finds and spawns the built `backorderd` binary for end-to-end tests.
public enum Binary {
    /// The debug or release binary next to the test bundle.
    public static var path: String {
        if let p = ProcessInfo.processInfo.environment["BACKORDERD_BIN"] { return p }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("backorderd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = FileManager.default.currentDirectoryPath
        return cwd + "/.build/debug/backorderd"
    }

    /// Runs the binary to completion and returns its exit code, stdout and stderr.
    public static func run(_ args: [String], environment: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
        let (p, out, err) = try launch(args, environment)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// `run` for async tests: the pipes are read on threads of their own and the exit is
    /// polled, so no thread of the cooperative pool waits on the child (with two cores the
    /// pool has two threads, and the loopback receivers other tests run need them).
    public static func run(_ args: [String], environment: [String: String] = [:]) async throws -> (code: Int32, out: String, err: String) {
        let (p, out, err) = try launch(args, environment)
        async let o = drain(out)
        async let e = drain(err)
        let (od, ed) = await (o, e)
        await p.exited()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }

    /// Starts the binary with its output and errors on pipes.
    private static func launch(_ args: [String], _ environment: [String: String]) throws -> (Process, Pipe, Pipe) {
        let p = process(args, environment)
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    private static func drain(_ pipe: Pipe) async -> Data {
        await withCheckedContinuation { c in
            Thread.detachNewThread { c.resume(returning: pipe.fileHandleForReading.readDataToEndOfFile()) }
        }
    }

    /// Starts the binary in the background; stderr goes to `logPath`. With
    /// `stderrIsJournal`, `JOURNAL_STREAM` names that file, as systemd names the journal's
    /// stream for a service whose output goes there.
    public static func start(_ args: [String], logPath: String, environment: [String: String] = [:],
                             stderrIsJournal: Bool = false) throws -> Process {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        var environment = environment
        if stderrIsJournal {
            var st = stat()
            fstat(log.fileDescriptor, &st)
            environment["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
        }
        let p = process(args, environment)
        p.standardError = log
        p.standardOutput = log
        try p.run()
        return p
    }

    private static func process(_ args: [String], _ environment: [String: String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        p.environment = env
        return p
    }
}

extension Process {
    /// Waits for the process to end, polling, without holding a thread of the
    /// cooperative pool (`waitUntilExit` would).
    public func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
