import BackorderCore
import CJournal
@testable import Daemon
import Foundation
import Logging
import TestSupport
import Testing

/// A real Unix datagram socket standing in for journald: it collects what arrives,
/// reading an entry passed as a memfd the way journald does, and parses the native format.
final class FakeJournal: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [[String: [UInt8]]] = []
    private var viaMemfd = 0
    private var thread: Thread?

    init(_ root: TempDirectory) throws {
        path = root.file("journal.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { throw POSIXError(.EADDRINUSE) }
        var big: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        let t = Thread { [self] in loop() }
        thread = t
        t.start()
    }

    /// Stops listening: the socket file goes away, so later sends fail.
    func close() {
        unlink(path)
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func loop() {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            var passed: Int32 = -1
            let n = buf.withUnsafeMutableBytes { cjournal_receive(fd, $0.baseAddress, $0.count, &passed) }
            if n < 0 { return }
            var bytes = Array(buf[0..<n])
            if passed >= 0 {
                var st = stat()
                fstat(passed, &st)
                bytes = [UInt8](repeating: 0, count: Int(st.st_size))
                _ = bytes.withUnsafeMutableBytes { pread(passed, $0.baseAddress, $0.count, 0) }
                Glibc.close(passed)
            } else if n == 0 {
                return
            }
            let entry = Self.parse(bytes)
            lock.withLock {
                received.append(entry)
                if passed >= 0 { viaMemfd += 1 }
            }
        }
    }

    var entries: [[String: [UInt8]]] { lock.withLock { received } }
    var memfdCount: Int { lock.withLock { viaMemfd } }

    func entries(where key: String, is value: String) -> [[String: String]] {
        entries.filter { $0[key].map { String(decoding: $0, as: UTF8.self) } == value }.map { e in
            e.mapValues { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// journald's native format: `NAME=value\n`, or `NAME\n` + 64-bit LE length + bytes + `\n`.
    static func parse(_ b: [UInt8]) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var i = 0
        while i < b.count {
            guard let end = b[i...].firstIndex(where: { $0 == 0x0A || $0 == UInt8(ascii: "=") }) else { break }
            let name = String(decoding: b[i..<end], as: UTF8.self)
            if b[end] == UInt8(ascii: "=") {
                let nl = b[(end + 1)...].firstIndex(of: 0x0A) ?? b.count
                out[name] = Array(b[(end + 1)..<nl])
                i = nl + 1
            } else {
                var n: UInt64 = 0
                for k in 0..<8 { n |= UInt64(b[end + 1 + k]) << (8 * UInt64(k)) }
                let start = end + 9
                out[name] = Array(b[start..<(start + Int(n))])
                i = start + Int(n) + 1
            }
        }
        return out
    }
}

@Suite struct JournalTests {
    func entry(_ level: Logger.Level, _ event: String, _ metadata: Logger.Metadata) -> LogEntry {
        let got = LockedBox<LogEntry?>(nil)
        let logger = Logger(label: "t") { _ in LogfmtHandler(label: "t", level: .trace, destination: .entries { e in got.value = e }) }
        logger.log(level: level, "\(event)", metadata: metadata)
        return got.value!
    }

    @Test func everyKeyBecomesAPrefixedFieldAndTheLineIsTheMessage() {
        let e = entry(.warning, "rejected", ["file": "feed.jsonl:12", "reason": "bad = \"x\"\nsecond line", "email": "ann@example.com",
                                            "secret": "whsec_x", "webhook_id": "msg_1"])
        let fields = FakeJournal.parse(JournalSink.serialize(e)).mapValues { String(decoding: $0, as: UTF8.self) }
        #expect(fields["PRIORITY"] == "4")
        #expect(fields["SYSLOG_IDENTIFIER"] == "backorderd")
        #expect(fields["MESSAGE"] == String(e.line.dropLast()))
        #expect(fields["MESSAGE"]?.hasPrefix("level=warning event=rejected webhook_id=msg_1 file=feed.jsonl:12 ") == true)
        #expect(fields["BACKORDERD_EVENT"] == "rejected")
        #expect(fields["BACKORDERD_FILE"] == "feed.jsonl")
        #expect(fields["BACKORDERD_LINE"] == "12")
        #expect(fields["BACKORDERD_REASON"] == "bad = \"x\"\nsecond line", "binary-safe: newline and '=' survive")
        #expect(fields["BACKORDERD_EMAIL"] == "a***@example.com", "masked as in the line")
        #expect(fields["BACKORDERD_SECRET"] == "[redacted]")
        #expect(fields["BACKORDERD_WEBHOOK_ID"] == "msg_1")
        #expect(!fields.keys.contains { $0.hasPrefix("_") })
    }

    @Test(arguments: [(Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"), (.warning, "4"), (.error, "3"), (.critical, "2")])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: String) {
        let fields = FakeJournal.parse(JournalSink.serialize(entry(level, "x", [:])))
        #expect(fields["PRIORITY"].map { String(decoding: $0, as: UTF8.self) } == priority)
    }

    @Test func fieldNamesCannotCollideWithJournaldsOwn() {
        #expect(JournalSink.fieldName("order") == "BACKORDERD_ORDER")
        #expect(JournalSink.fieldName("_SYSTEMD_UNIT") == "BACKORDERD__SYSTEMD_UNIT")
        #expect(JournalSink.fieldName("MESSAGE") == "BACKORDERD_MESSAGE")
        #expect(JournalSink.fieldName("a.b-c d") == "BACKORDERD_A_B_C_D")
        #expect(JournalSink.fieldName(String(repeating: "k", count: 100)).count == 64)
    }

    @Test func controlCharactersAndReplacedBytesSurviveTheFraming() async throws {
        let root = TempDirectory()
        let journal = try FakeJournal(root)
        let sink = try #require(JournalSink(path: journal.path))
        // A file name that was not UTF-8 reaches the log with U+FFFD in place of the bad bytes.
        let value = "esc\u{1B}[2J bel\u{07} nul\u{0} cr\r tab\t eq=1 \u{FFFD}\u{FFFD} \n end"
        sink.send(entry(.error, "delivery_failed", ["detail": "\(value)", "order": "O-1001"]))
        try await eventually("the entry") { journal.entries.count == 1 }
        let e = journal.entries[0]
        #expect(e["BACKORDERD_DETAIL"] == Array(value.utf8))
        #expect(e["BACKORDERD_ORDER"] == Array("O-1001".utf8))
        #expect(e["PRIORITY"] == Array("3".utf8))
        let message = String(decoding: e["MESSAGE"] ?? [], as: UTF8.self)
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 }, "the message line stays escaped: \(message)")
        journal.close()
    }

    @Test func anEntryLargerThanADatagramGoesThroughASealedMemfd() async throws {
        let root = TempDirectory()
        let journal = try FakeJournal(root)
        let sink = try #require(JournalSink(path: journal.path))
        let big = String(repeating: "x", count: 600_000)
        sink.send(entry(.info, "big", ["detail": "\(big)"]))
        try await eventually("the large entry") { journal.entries.count == 1 }
        #expect(journal.memfdCount == 1)
        #expect(journal.entries[0]["BACKORDERD_DETAIL"]?.count == 600_000)
        journal.close()
    }

    @Test func theJournalIsUsedOnlyWhenStderrIsTheStreamSystemdNamed() throws {
        var st = stat()
        fstat(2, &st)
        let mine = "\(st.st_dev):\(st.st_ino)"
        #expect(LogDestination.isJournal(stream: mine, fd: 2))
        #expect(!LogDestination.isJournal(stream: nil, fd: 2))
        #expect(!LogDestination.isJournal(stream: "\(st.st_dev):\(st.st_ino + 1)", fd: 2))
        #expect(!LogDestination.isJournal(stream: "garbage", fd: 2))
        guard case .text = LogDestination.forProcess(environment: [:]) else { Issue.record("no JOURNAL_STREAM: plain text"); return }
        guard case .prefixed = LogDestination.forProcess(environment: ["JOURNAL_STREAM": mine, "BACKORDERD_JOURNAL_SOCKET": "/nonexistent/sock"])
        else { Issue.record("journal stream without a socket: <N> prefixes"); return }
    }
}

/// The daemon itself, with stderr a file that `JOURNAL_STREAM` names, logging to a fake journald.
@Suite struct JournalDaemonTests {
    @Test func deliveriesRejectsAndFailuresReachTheJournalWithFields() async throws {
        let receiver = ScriptedReceiver(secret: HostileInputTests.secret) { i, _ in i == 0 ? .status(500) : .status(204) }
        let url = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let root = TempDirectory()
        let journal = try FakeJournal(root)
        defer { journal.close() }
        let cfg = try await DeliveryCrashTests.readyOrders(1, in: root, url: url, delivery: "initial_backoff = \"100ms\"\nmax_backoff = \"200ms\"")
        try Files.drop(root.sub("inbox") + "/bad.jsonl", "{\"type\":\"stock\"}\n")
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log, environment: ["BACKORDERD_JOURNAL_SOCKET": journal.path],
                                 stderrIsJournal: true)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(20), "delivered") { !journal.entries(where: "BACKORDERD_EVENT", is: "delivered").isEmpty }
        let delivered = journal.entries(where: "BACKORDERD_EVENT", is: "delivered")[0]
        #expect(delivered["PRIORITY"] == "6")
        #expect(delivered["BACKORDERD_ORDER"] == "O-0")
        #expect(delivered["BACKORDERD_ENDPOINT"] == "email")
        #expect(delivered["BACKORDERD_WEBHOOK_ID"]?.hasPrefix("msg_") == true)
        #expect(delivered["MESSAGE"]?.hasPrefix("level=info event=delivered order=O-0 ") == true)
        let failed = journal.entries(where: "BACKORDERD_EVENT", is: "retry_scheduled")
        // The 500 is retried (a slow machine may add a timeout's retry of its own).
        #expect(failed.allSatisfy { $0["PRIORITY"] == "4" } && failed.contains { $0["BACKORDERD_STATUS"] == "500" }, "\(failed)")
        let rejected = journal.entries(where: "BACKORDERD_EVENT", is: "rejected")
        #expect(rejected.count == 1)
        #expect(rejected.first?["PRIORITY"] == "4")
        #expect(rejected.first?["BACKORDERD_FILE"] == "bad.jsonl" && rejected.first?["BACKORDERD_LINE"] == "1")
        #expect(rejected.first?["BACKORDERD_REASON"]?.contains("missing field 'sku'") == true)
        #expect(!Files.read(log).contains("event=delivered"), "entries go to the journal, not to stderr")

        // journald goes away: each entry falls back to stderr behind its priority, said once.
        journal.close()
        try Files.drop(root.sub("inbox") + "/more.jsonl", "{\"type\":\"stock\"}\n{\"type\":\"stock\"}\n")
        try await eventually("the fallback") { Files.read(log).contains("<4>level=warning event=rejected file=more.jsonl:2") }
        let text = Files.read(log)
        #expect(text.components(separatedBy: "event=journal_fallback").count == 2, "said once: \(text)")
        #expect(text.contains("<4>level=warning event=rejected file=more.jsonl:1"))
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0)
    }

    @Test func withoutAMatchingJournalStreamTheOutputIsPlainLogfmt() async throws {
        let root = TempDirectory()
        let journal = try FakeJournal(root)
        defer { journal.close() }
        let cfg = try BinaryTests.config(root)
        for (name, stream) in [("unset", nil), ("other", "1:1")] as [(String, String?)] {
            let log = root.file("\(name).log")
            var env = ["BACKORDERD_JOURNAL_SOCKET": journal.path]
            if let stream { env["JOURNAL_STREAM"] = stream }
            let p = try Binary.start(["run", "--config", cfg], logPath: log, environment: env)
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            try await eventually("ready") { Files.read(log).contains("event=ready") }
            kill(p.processIdentifier, SIGTERM)
            await p.exited()
            let lines = Files.read(log).split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("level=") }, "\(name): \(lines)")
        }
        #expect(journal.entries.isEmpty)
        // stderr is the journal but its socket is missing: lines carry their <N> priority.
        let log = root.file("prefixed.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log, environment: ["BACKORDERD_JOURNAL_SOCKET": root.file("missing.sock")],
                                 stderrIsJournal: true)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("<6>level=info event=ready") }
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(Files.read(log).split(separator: "\n").allSatisfy { $0.hasPrefix("<") })
    }
}

/// A value a `@Sendable` closure may set.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
