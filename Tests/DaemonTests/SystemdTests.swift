import BackorderCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// A datagram socket standing in for systemd's notify socket.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32
    private let lock = NSLock()
    private var messages: [String] = []
    private var thread: Thread?

    init(path: String) {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        let t = Thread { [weak self] in
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buf, buf.count, 0)
                if n <= 0 { return }
                let text = String(decoding: buf[0..<n], as: UTF8.self)
                self?.lock.withLock { self?.messages.append(text) }
            }
        }
        thread = t
        t.start()
    }

    var all: [String] { lock.withLock { messages } }
    func saw(_ s: String) -> Bool { all.contains { $0.split(separator: "\n").contains(Substring(s)) } }
    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

@Suite struct SystemdTests {
    @Test func notifiesSystemdReloadsAndStopsCleanlyWithoutLeakingContactDetails() async throws {
        let receiver = ScriptedReceiver(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let url = try await receiver.start()
        let root = TempDirectory()
        let cfg = try BinaryTests.config(root)
        let metricsPort = refusedPort()
        let good = Files.read(cfg) + """

            [metrics]
            listen = "127.0.0.1:\(metricsPort)"

            [[endpoints]]
            name = "email"
            url = "\(url)"
            secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            events = ["backorder.ready", "backorder.partially_ready"]
            """
        try Files.write(cfg, good)
        chmod(cfg, 0o600)
        let listener = NotifyListener(path: root.file("notify.sock"))
        defer { listener.stop() }
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log,
                                 environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("READY=1") { listener.saw("READY=1") }
        try await eventually("WATCHDOG=1") { listener.saw("WATCHDOG=1") }
        try Files.drop(root.path + "/inbox/o.jsonl", """
            {"type":"backorder","order":"O-1001","line":"1","sku":"S","qty":1,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2030-01-01","customer":{"id":"C-9","name":"Ana","email":"ana@example.com","phone":"+15551234567"}}
            {"type":"stock","sku":"S","on_hand":1}

            """)
        try await eventually("delivered") { Files.read(log).contains("event=delivered order=O-1001") }

        // status --json, while the daemon runs
        let status = try await Binary.run(["status", "--config", cfg, "--json"])
        #expect(status.code == 0, "\(status.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any])
        #expect((json["lines"] as? [String: Int])?["ready"] == 1)
        let endpoints = try #require(json["endpoints"] as? [[String: Any]])
        #expect(endpoints.first?["delivered"] as? Int == 1)
        #expect((json["files"] as? [[String: Any]])?.first?["lines"] as? Int == 2)
        // The keys scripts read, as they have always been.
        #expect(Set(json.keys) == ["lines", "waiting", "endpoints", "dead_letters", "files"], "\(json.keys)")
        #expect(Set(endpoints.first?.keys.map { $0 } ?? []) == ["name", "pending", "in_flight", "delivered", "dead", "superseded", "breaker"])
        #expect(Set((json["files"] as? [[String: Any]])?.first?.keys.map { $0 } ?? []) == ["name", "offset", "lines", "updated_at"])
        #expect(Set((json["lines"] as? [String: Int])?.keys.map { $0 } ?? []) == ["waiting", "ready", "fulfilled", "cancelled"])

        // Prometheus text, with the counters moved by what just happened.
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        let metrics = String(decoding: data, as: UTF8.self)
        #expect(metrics.contains("backorderd_records_applied_total 2"), "\(metrics)")
        #expect(metrics.contains(#"backorderd_events_total{type="backorder.ready"} 1"#))
        #expect(metrics.contains(#"backorderd_deliveries_total{endpoint="email",outcome="delivered"} 1"#))
        #expect(metrics.contains("backorderd_delivery_attempt_seconds_bucket"))

        // SIGHUP with a bad configuration: every problem logged, the daemon goes on.
        try Files.write(cfg, good.replacingOccurrences(of: "settle = \"100ms\"", with: "settle = \"soon\""))
        kill(p.processIdentifier, SIGHUP)
        try await eventually("reload refused") { Files.read(log).contains("event=reload_refused") && listener.saw("RELOADING=1") }
        #expect(Files.read(log).contains("key=inbox.settle"))
        // SIGHUP with a good one that adds a staff endpoint: applied without a restart.
        try Files.write(cfg, good + """

            [[endpoints]]
            name = "staff"
            url = "\(url)"
            secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            events = ["stock.out"]
            """)
        kill(p.processIdentifier, SIGHUP)
        try await eventually("reloaded") { Files.read(log).contains("event=reloaded") }
        #expect(!Files.read(log).contains("event=reload_needs_restart"))
        try Files.drop(root.path + "/inbox/s.jsonl", #"{"type":"stock","sku":"Z","on_hand":10}"# + "\n" + #"{"type":"stock","sku":"Z","on_hand":0}"# + "\n")
        try await eventually("staff alert delivered") { receiver.received.contains { $0.json["type"] as? String == "stock.out" } }

        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        await receiver.stop()
        #expect(p.terminationStatus == 0)
        try await eventually("STOPPING=1") { listener.saw("STOPPING=1") }
        let text = Files.read(log)
        #expect(!text.contains("ana@example.com"))
        #expect(!text.contains("+15551234567"))
        #expect(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(receiver.received.count == 2)
    }
}
