import BackorderCore
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The status page's server against clients that misbehave, on a daemon limited to 256
/// file descriptors, while a file is ingested and its message delivered.
@Suite struct ExposedStatusPageTests {
    /// The status of one `GET path` on a fresh connection; nil when none came.
    static func status(_ port: UInt16, _ path: String = "/") async -> Int? {
        await offPool {
            guard let c = RawClient.connect(port) else { return nil }
            defer { c.close() }
            c.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let text = c.readAll()
            return text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) : nil
        }
    }

    /// CPU seconds the process has used (user + system).
    static func cpuSeconds(_ pid: Int32) -> Double {
        let stat = Files.read("/proc/\(pid)/stat")
        let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
        // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
        guard fields.count > 13, let user = Double(fields[12]), let system = Double(fields[13]) else { return .infinity }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Sets another process's open-file limit (soft), as `ulimit -n` would have at its
    /// start: util-linux's prlimit(1), which every Debian has.
    static func limitFiles(_ pid: Int32, _ n: Int) async -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        p.arguments = ["--pid", "\(pid)", "--nofile=\(n):"]
        guard (try? p.run()) != nil else { return false }
        await p.exited()
        return p.terminationStatus == 0
    }

    static func openFiles(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    static func waitForStatus(_ port: UInt16, _ want: Int, within: Duration) async throws {
        let clock = ContinuousClock(), until = clock.now + within * testTimeoutScale
        var last: Int? = nil
        while clock.now < until {
            last = await status(port)
            if last == want { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("the page answered \(last.map(String.init) ?? "nothing"), not \(want), within \(within)")
    }

    @Test func thePageSurvivesHostileClientsWhileIngestAndDeliveryGoOn() async throws {
        let root = TempDirectory()
        let receiver = ScriptedReceiver(secret: HostileInputTests.secret)
        let url = try await receiver.start()
        let port = refusedPort()
        let cfg = try BinaryTests.config(root)
        try Files.write(cfg, Files.read(cfg) + """

            [[endpoints]]
            name = "email"
            url = "\(url)"
            secret = "\(HostileInputTests.secret)"
            events = ["backorder.ready"]
            [http]
            listen = "127.0.0.1:\(port)"
            """)
        chmod(cfg, 0o600)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        let pid = p.processIdentifier
        defer { kill(pid, SIGKILL) }
        #expect(await Self.limitFiles(pid, 256), "ulimit -n 256 for the daemon")
        try await eventually("ready and listening") {
            let text = Files.read(log)
            return text.contains("event=ready") && text.contains("event=http_listening")
        }

        // HEAD then GET pipelined on one connection: the HEAD answer has a length and no
        // body, so the GET's answer follows its head directly.
        let pipelined = await offPool { () -> String in
            guard let c = RawClient.connect(port) else { return "" }
            defer { c.close() }
            c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.readAll()
        }
        let headEnd = try #require(pipelined.range(of: "\r\n\r\n"), "\(pipelined)")
        let headAnswer = pipelined[..<headEnd.lowerBound].lowercased()
        #expect(headAnswer.hasPrefix("http/1.1 200"), "\(headAnswer)")
        #expect(headAnswer.contains("content-length: ") && !headAnswer.contains("content-length: 0"), "\(headAnswer)")
        #expect(pipelined[headEnd.upperBound...].hasPrefix("HTTP/1.1 200"), "HEAD sent a body: \(pipelined.prefix(400))")

        // HEAD's length is the length GET's body has.
        let notFound = await offPool { () -> (head: String, get: String) in
            guard let a = RawClient.connect(port), let b = RawClient.connect(port) else { return ("", "") }
            defer { a.close(); b.close() }
            a.send("HEAD /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            b.send("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return (a.readAll(), b.readAll())
        }
        func length(_ answer: String) -> Int? {
            answer.lowercased().components(separatedBy: "\r\n").first { $0.hasPrefix("content-length: ") }
                .flatMap { Int($0.dropFirst(16)) }
        }
        let getBody = notFound.get.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(length(notFound.head) == getBody.utf8.count && getBody.utf8.count > 0, "HEAD \(notFound.head) / GET body \(getBody.utf8.count)")
        #expect(notFound.head.hasSuffix("\r\n\r\n"), "HEAD sent no body")

        // A request, then a head too large behind it on the same connection: the first
        // is answered, then the 431, in that order.
        let behind = await offPool { () -> String in
            guard let c = RawClient.connect(port) else { return "" }
            defer { c.close() }
            c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20 * 1024) + "\r\n\r\n")
            return c.readAll()
        }
        #expect(behind.hasPrefix("HTTP/1.1 404") && behind.contains("HTTP/1.1 431"), "\(behind.prefix(300))")

        // A 20 KiB header is answered 431 at once.
        let big = await offPool { () -> String in
            guard let c = RawClient.connect(port) else { return "" }
            defer { c.close() }
            c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20 * 1024) + "\r\n\r\n")
            return c.readAll()
        }
        #expect(big.hasPrefix("HTTP/1.1 431"), "\(big.prefix(200))")

        // A megabyte of header costs the daemon next to nothing (it was minutes of CPU):
        // the parser stops at 16 KiB and the connection is closed.
        let before = Self.cpuSeconds(pid)
        let sentWhole = await offPool { () -> Bool in
            guard let c = RawClient.connect(port, timeout: 10) else { return false }
            defer { c.close() }
            return c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Huge: " + String(repeating: "b", count: 1 << 20) + "\r\n\r\n")
                && !c.readAll().isEmpty && false
        }
        #expect(!sentWhole)
        #expect(Self.cpuSeconds(pid) - before < 1.0, "CPU for a 1 MB header: \(Self.cpuSeconds(pid) - before) s")
        #expect(await Self.status(port) == 200)

        // 2,000 slow clients, each with half a request head sent (fewer where this
        // process may not open that many sockets beside the other tests: at least 300,
        // well past the cap of 64).
        let limit = raiseOpenFileLimit()
        let size = max(300, min(2000, (limit - 1024) / 2))
        let flood = await offPool { (0..<size).compactMap { _ in RawClient.connectLater(port) } }
        #expect(flood.count == size, "opened \(flood.count) of \(size) (open-file limit \(limit))")
        try await Task.sleep(for: .milliseconds(500))
        await offPool { for c in flood { c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") } }
        // A new client is turned away at once with 503, not left waiting.
        #expect(await Self.status(port) == 503)

        // While they hold every place, a file is ingested and its message delivered...
        try Files.drop(root.sub("inbox") + "/1.jsonl", """
            {"type":"stock","sku":"S","on_hand":0}
            {"type":"backorder","order":"O-1","line":"1","sku":"S","qty":1,"ordered_at":"2030-01-01T00:00:00Z","promised_at":"2030-01-05","customer":{"id":"C-1","email":"ana@example.com"}}
            {"type":"stock","sku":"S","on_hand":5}

            """)
        do {
            try await eventually(timeout: .seconds(20), "the ready delivered during the flood") {
                receiver.received.contains { $0.json["type"] as? String == "backorder.ready" }
            }
        } catch {
            Issue.record("\(error); open files: \(Self.openFiles(pid)); the daemon's log:\n\(Files.read(log).suffix(3000))")
        }
        // ...the excess was answered 503 and holds no file descriptor...
        #expect(Self.openFiles(pid) < 200, "file descriptors held: \(Self.openFiles(pid))")
        // ...and once the slow ones are cut off (10 s for a head), the page answers again.
        try await Self.waitForStatus(port, 200, within: .seconds(30))
        // The excess was answered 503 (the rest were cut off, or are still in the kernel's
        // accept queue, holding none of the daemon's file descriptors).
        let states = await offPool { flood.map { $0.state() } }
        let refused = states.filter { if case .answered(let t) = $0 { t.hasPrefix("HTTP/1.1 503") } else { false } }.count
        let waiting = states.filter { $0 == .waiting }.count
        let cut = states.filter { $0 == .closed || $0 == .reset }.count
        #expect(refused > 0, "503: \(refused), closed or reset: \(cut), still waiting: \(waiting)")
        for c in flood { c.close() }

        // No file descriptor left: accepting fails for a while, and the listener comes back.
        #expect(await Self.limitFiles(pid, Self.openFiles(pid)))
        let burst = await offPool { (0..<20).compactMap { _ in RawClient.connect(port, timeout: 1) } }
        for c in burst { _ = c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") }
        try await Task.sleep(for: .seconds(1))
        for c in burst { c.close() }
        #expect(await Self.limitFiles(pid, 256))
        try await Self.waitForStatus(port, 200, within: .seconds(10))
        #expect(kill(pid, 0) == 0, "the daemon is still running")
        #expect(!Files.read(log).contains("event=http_failed"), "the listener never gave up")
        kill(pid, SIGTERM)
        await p.exited()
        await receiver.stop()
    }
}
