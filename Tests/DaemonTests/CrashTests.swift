import BackorderCore
import Foundation
import GRDB
import Store
import TestSupport
import Testing

/// kill -9 at random moments while a large file is applied: after every restart the
/// state is exactly the effect of the lines the stored offset says were applied.
@Suite struct CrashTests {
    static let skus = 37

    /// Line `i` of the test file. Deltas make a line applied twice (or skipped) visible.
    static func line(_ i: Int) -> String {
        let sku = "S\(i % skus)"
        if i % 11 == 0 { return #"{"type":"stock","sku":"\#(sku)","on_hand":\#(i % 100)}"# }
        if i % 7 == 0 {
            return #"{"type":"backorder","order":"O-\#(i)","line":1,"sku":"\#(sku)","qty":1,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2026-12-01","customer":{"id":"C\#(i)","email":"c\#(i)@example.com"}}"#
        }
        return #"{"type":"stock","sku":"\#(sku)","delta":1}"#
    }

    /// The applied line count, read without opening a `Store` (cheap enough to poll).
    static func appliedLines(_ stateDir: String) -> Int64 {
        let path = stateDir + "/backorderd.sqlite"
        guard FileManager.default.fileExists(atPath: path),
              let db = try? DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }()) else { return 0 }
        return (try? db.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(line) FROM inbox_file") ?? 0 }) ?? 0
    }

    struct Model: Equatable {
        var onHand: [String: Int64] = [:]
        var orders = 0

        init(lines n: Int) {
            for i in 0..<n {
                let sku = "S\(i % CrashTests.skus)"
                if i % 11 == 0 { onHand[sku] = Int64(i % 100) }
                else if i % 7 == 0 { orders += 1; if onHand[sku] == nil { onHand[sku] = 0 } }
                else { onHand[sku, default: 0] += 1 }
            }
        }

        /// What the state holds, read from outside (either backend).
        init(probe: StateProbe) throws {
            for row in try probe.rows("SELECT sku, on_hand FROM position") { onHand[row[0]] = Int64(row[1]) ?? -1 }
            orders = Int(probe.int("SELECT COUNT(*) FROM order_line") ?? 0)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func killNineNeverLosesOrRepeatsALine(_ backend: TestBackend) async throws {
        let root = TempDirectory()
        let total = 60_000
        let probe = try StateProbe(backend, stateDirectory: root.path + "/state")
        let cfg = try BinaryTests.config(root, extra: "batch_lines = 200", state: probe.configLines)
        // Checkpoints every 3,000 records (the file takes well under the 1 s interval):
        // kills land before, inside and after many of them.
        try Files.write(cfg, Files.read(cfg) + "\ncheckpoint_records = 3000\n")
        let inbox = root.sub("inbox")
        var text = ""
        text.reserveCapacity(total * 60)
        for i in 0..<total { text += Self.line(i) + "\n" }
        try Files.drop(inbox + "/big.jsonl", text)
        var rng = SplitMix(seed: UInt64(ProcessInfo.processInfo.environment["CRASH_SEED"] ?? "") ?? 20261128)
        let log = root.file("daemon.log")
        var progress: [Int64] = []
        for round in 0..<20 {
            let p = try Binary.start(["run", "--config", cfg], logPath: log)
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            // Kill at a random moment once this process has committed something (so every
            // round lands somewhere new, however loaded the machine): mid-transaction,
            // between batches, or while reading.
            // The watch runs on a thread of its own: with the other suites running in
            // parallel the cooperative pool can be busy for longer than the daemon needs
            // to finish the whole file, and every kill would land after the last line.
            let before = progress.last ?? 0
            let delay = UInt32(rng.next() % 40)
            let pid = p.processIdentifier
            let progressed = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                Thread.detachNewThread {
                    let deadline = Date().addingTimeInterval(60)
                    var seen = false
                    while Date() < deadline {
                        let line = probe.appliedLines
                        if line > before || line == Int64(total) { seen = true; break }
                        usleep(2_000)
                    }
                    usleep(delay * 1_000)
                    kill(pid, SIGKILL)
                    c.resume(returning: seen)
                }
            }
            #expect(progressed, "round \(round) made no progress within 60 s")
            await p.exited()
            await offPool { probe.settle() }
            let applied = probe.appliedLines
            progress.append(applied)
            #expect(try Model(probe: probe) == Model(lines: Int(applied)), "round \(round): state differs from the first \(applied) lines")
        }
        // Finally let it finish.
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(120), "all lines applied") { probe.appliedLines == Int64(total) }
        // The last killed round may have finished the file already: wait until this
        // process is up (its signal handlers installed) before asking it to stop.
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0)
        #expect(try Model(probe: probe) == Model(lines: total))
        // The kills landed inside the file, not all before the first commit or after the last.
        let inside = Set(progress.filter { $0 > 0 && $0 < Int64(total) })
        #expect(inside.count >= 2, "progress at each kill: \(progress)")
    }
}

extension CrashTests {
    /// kill -9 while decisions wait in memory for their checkpoint, with a receiver taking
    /// the messages: after a restart the state and the queued messages are those of a run
    /// that never crashed, every message arrives, and an id that arrives twice carries the
    /// same body.
    @Test func killNineBetweenCheckpointsMatchesARunWithoutTheCrash() async throws {
        let receiver = ScriptedReceiver(secret: HostileInputTests.secret)
        let url = try await receiver.start()
        let cleanReceiver = ScriptedReceiver(secret: HostileInputTests.secret)
        let cleanURL = try await cleanReceiver.start()
        defer { Task { await receiver.stop(); await cleanReceiver.stop() } }
        // Every record carries its `at`: one without is stamped with the time it is read,
        // and re-read after a crash it is stamped again (see docs/ARCHITECTURE.md). Orders
        // made "in 2030" keep the clock's pass (long waits) out of the comparison.
        var text = ""
        for i in 0..<20_000 {
            text += #"{"type":"backorder","order":"O-\#(i)","line":"1","sku":"S\#(i % 30)","qty":1,"ordered_at":"2030-01-01T00:00:00Z","promised_at":"2030-12-01","customer":{"id":"C\#(i)"},"at":"2026-11-30T10:00:00Z"}"# + "\n"
            if i % 8 == 7 { text += #"{"type":"stock","sku":"S\#(i % 30)","delta":1,"at":"2026-11-30T10:00:00Z"}"# + "\n" }
        }
        func setUp(_ name: String, url: String) async throws -> (TempDirectory, String) {
            let root = TempDirectory(name)
            let cfg = try await DeliveryCrashTests.readyOrders(0, in: root, url: url, delivery: "initial_backoff = \"100ms\"")
            try Files.write(cfg, Files.read(cfg).replacingOccurrences(of: "settle = \"100ms\"", with: "settle = \"100ms\"\nbatch_lines = 100")
                .replacingOccurrences(of: "[state]", with: "[state]\ncheckpoint_records = 2000\ncheckpoint_interval = \"1h\""))
            try FileManager.default.removeItem(atPath: root.sub("inbox") + "/orders.jsonl")
            try Files.drop(root.sub("inbox") + "/feed.jsonl", text)
            return (root, cfg)
        }
        func outbox(_ root: TempDirectory) throws -> [String: String] {
            try DatabaseQueue(path: root.path + "/state/backorderd.sqlite").read { db in
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: """
                    SELECT webhook_id, (SELECT body FROM outbox_body AS b WHERE b.id = o.id) FROM outbox AS o
                    """).map { ($0[0] as String, String(decoding: $0[1] as Data, as: UTF8.self)) })
            }
        }
        // The crash: killed once a first checkpoint is written, so what came after it is
        // decided in memory and lost.
        let (root, cfg) = try await setUp("crash", url: url)
        let stateDir = root.path + "/state"
        let log = root.file("daemon.log")
        let first = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        // Watched from a thread of its own, every 2 ms, so a busy test pool cannot let the
        // daemon finish the file first.
        let pid = first.processIdentifier
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline, Self.appliedLines(stateDir) == 0 { usleep(2_000) }
                kill(pid, SIGKILL)
                c.resume()
            }
        }
        await first.exited()
        let atKill = Self.appliedLines(stateDir)
        let second = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        let total = Int64(20_000 + 2_500)
        try await eventually(timeout: .seconds(60), "caught up") { Self.appliedLines(stateDir) == total }
        // The same file, no crash.
        let (cleanRoot, cleanCfg) = try await setUp("clean", url: cleanURL)
        let clean = try Binary.start(["run", "--config", cleanCfg], logPath: cleanRoot.file("daemon.log"))
        defer { if clean.isRunning { kill(clean.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(60), "clean run caught up") { Self.appliedLines(cleanRoot.path + "/state") == total }
        let crashed = try outbox(root)
        #expect(crashed == (try outbox(cleanRoot)), "the same messages, ids and bodies as a run without the crash")
        #expect(try Store(directory: stateDir).allLines() == Store(directory: cleanRoot.path + "/state").allLines())
        #expect(try Store(directory: stateDir).allPositions() == Store(directory: cleanRoot.path + "/state").allPositions())
        #expect(atKill < total, "the kill landed inside the file (written up to line \(atKill))")
        try await eventually(timeout: .seconds(60), "every message delivered") {
            Set(receiver.received.map(\.id)).isSuperset(of: crashed.keys)
        }
        for r in receiver.received where crashed[r.id] != nil {
            #expect(String(decoding: r.body, as: UTF8.self) == crashed[r.id], "\(r.id) arrived with another body")
        }
        for p in [second, clean] { kill(p.processIdentifier, SIGTERM); await p.exited() }
    }
}
