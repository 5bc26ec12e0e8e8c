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

        init(store: Store) throws {
            for p in try store.allPositions() { onHand[p.key.sku] = p.onHand }
            orders = try store.allLines().count
        }
    }

    @Test func killNineNeverLosesOrRepeatsALine() async throws {
        let root = TempDirectory()
        let total = 60_000
        let cfg = try BinaryTests.config(root, extra: "batch_lines = 200")
        let inbox = root.sub("inbox")
        var text = ""
        text.reserveCapacity(total * 60)
        for i in 0..<total { text += Self.line(i) + "\n" }
        try Files.drop(inbox + "/big.jsonl", text)
        let stateDir = root.path + "/state"
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
                        let line = Self.appliedLines(stateDir)
                        if line > before || line == Int64(total) { seen = true; break }
                        usleep(2_000)
                    }
                    usleep(delay * 1_000)
                    kill(pid, SIGKILL)
                    c.resume(returning: seen)
                }
            }
            #expect(progressed, "round \(round) made no progress within 60 s")
            p.waitUntilExit()
            let store = try Store(directory: stateDir)
            let applied = try store.cursors().first?.line ?? 0
            progress.append(applied)
            #expect(try Model(store: store) == Model(lines: Int(applied)), "round \(round): state differs from the first \(applied) lines")
        }
        // Finally let it finish.
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(120), "all lines applied") {
            (try Store(directory: stateDir).cursors().first?.line ?? 0) == Int64(total)
        }
        // The last killed round may have finished the file already: wait until this
        // process is up (its signal handlers installed) before asking it to stop.
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try Model(store: Store(directory: stateDir)) == Model(lines: total))
        // The kills landed inside the file, not all before the first commit or after the last.
        let inside = Set(progress.filter { $0 > 0 && $0 < Int64(total) })
        #expect(inside.count >= 2, "progress at each kill: \(progress)")
    }
}

/// A small seeded generator, so a failing run can be repeated with CRASH_SEED.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
