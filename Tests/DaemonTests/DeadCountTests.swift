import BackorderCore
import Foundation
import TestSupport
import Testing

/// A message that runs out of attempts is a dead letter in every count: `STATUS=`,
/// `/metrics` and the status page (each was told "retried" before).
@Suite struct DeadCountTests {
    @Test func aMessageThatRunsOutOfAttemptsIsCountedDeadEverywhere() async throws {
        let receiver = ScriptedReceiver(secret: HostileInputTests.secret) { _, _ in .status(503) }
        let url = try await receiver.start()
        let root = TempDirectory()
        let cfg = try BinaryTests.config(root)
        let port = refusedPort()
        try Files.write(cfg, Files.read(cfg) + """

            [delivery]
            max_attempts = 1
            [http]
            listen = "127.0.0.1:\(port)"
            [[endpoints]]
            name = "email"
            url = "\(url)"
            secret = "\(HostileInputTests.secret)"
            events = ["backorder.ready"]
            """)
        chmod(cfg, 0o600)
        let listener = NotifyListener(path: root.file("notify.sock"))
        defer { listener.stop() }
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log,
                                 environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("READY=1") { listener.saw("READY=1") }
        try Files.drop(root.path + "/inbox/o.jsonl", """
            {"type":"backorder","order":"O-1","line":"1","sku":"S","qty":1,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2030-01-01","customer":{"id":"C-1","email":"ana@example.com"}}
            {"type":"stock","sku":"S","on_hand":1}

            """)
        try await eventually("dead") { Files.read(log).contains("event=dead_letter order=O-1") }
        #expect(Files.read(log).contains("reason=http_503"))
        try await eventually("STATUS= counts it dead") {
            listener.all.contains { $0.contains("STATUS=") && $0.contains("dead=1") && $0.contains("retried=0") }
        }
        let metrics = try await StatusPageTests.get("http://127.0.0.1:\(port)/metrics").body
        #expect(metrics.contains(#"backorderd_deliveries_total{endpoint="email",outcome="dead"} 1"#), "\(metrics)")
        #expect(!metrics.contains(#"outcome="retry""#), "\(metrics)")
        let page = try await StatusPageTests.get("http://127.0.0.1:\(port)/")
        let row = StatusPageTests.rows("endpoints", in: page.body).first ?? ""
        #expect(row.contains("data-label=\"failed 1h\"><span class=\"badge warn\">1</span>"), "\(row)")
        #expect(page.body.contains("id=\"tile-dead\"><b>1</b>dead letters"))
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        await receiver.stop()
    }
}
