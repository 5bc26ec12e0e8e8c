import BackorderCore
import Foundation
import GRDB
import Store
import TestSupport
import Testing

/// kill -9 the daemon while hundreds of deliveries are in flight: after a restart every
/// message arrives, and a message that arrives twice carries the same webhook-id and body.
@Suite struct DeliveryCrashTests {
    /// A config with one `email` endpoint at `url`, and an inbox file of `orders`
    /// backorders that one stock record makes ready. Returns the config's path.
    static func readyOrders(_ orders: Int, in root: TempDirectory, url: String, delivery: String, endpoint: String = "",
                            state: String = "") async throws -> String {
        let cfg = try BinaryTests.config(root, extra: "", state: state)
        try Files.write(cfg, Files.read(cfg) + """

            [delivery]
            \(delivery)
            [[endpoints]]
            name = "email"
            url = "\(url)"
            secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            events = ["backorder.ready"]
            \(endpoint)
            """)
        chmod(cfg, 0o600)
        var text = ""
        for i in 0..<orders {
            text += #"{"type":"backorder","order":"O-\#(i)","line":"1","sku":"K","qty":1,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2030-12-01","customer":{"id":"C\#(i)"}}"# + "\n"
        }
        text += #"{"type":"stock","sku":"K","on_hand":\#(orders)}"# + "\n"
        try Files.drop(root.sub("inbox") + "/orders.jsonl", text)
        return cfg
    }

    @Test(arguments: TestBackend.allCases)
    func everyMessageArrivesAfterKillNine(_ backend: TestBackend) async throws {
        let receiver = ScriptedReceiver(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") { _, _ in .slow(.milliseconds(20), 204) }
        let url = try await receiver.start()
        let root = TempDirectory()
        let probe = try StateProbe(backend, stateDirectory: root.path + "/state")
        let orders = 400
        let cfg = try await Self.readyOrders(orders, in: root, url: url, delivery: """
            concurrency = 64
            initial_backoff = "100ms"
            """, endpoint: "max_in_flight = 64", state: probe.configLines)
        let log = root.file("daemon.log")
        let first = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(30), "deliveries under way") { receiver.received.count >= 60 }
        kill(first.processIdentifier, SIGKILL)
        await first.exited()
        let atKill = receiver.received.count
        let second = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(60), "all delivered") {
            probe.int("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") == Int64(orders)
        }
        kill(second.processIdentifier, SIGTERM)
        await second.exited()
        #expect(second.terminationStatus == 0)
        await receiver.stop()
        let ids = try probe.rows("SELECT webhook_id FROM outbox").map { $0[0] }
        let got = receiver.received
        #expect(atKill < orders, "the kill landed before everything was delivered")
        #expect(Set(got.map(\.id)) == Set(ids), "every message arrived")
        #expect(got.allSatisfy { $0.signatureValid })
        var bodies: [String: Data] = [:]
        for r in got {
            if let b = bodies[r.id] { #expect(b == r.body, "a resend carries the same body") }
            bodies[r.id] = r.body
        }
    }
}

extension DeliveryCrashTests {
    @Test func sigtermWithDeliveriesInFlightFinishesThemAndExitsZero() async throws {
        let receiver = ScriptedReceiver(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") { _, _ in .slow(.milliseconds(600), 204) }
        let url = try await receiver.start()
        let root = TempDirectory()
        let cfg = try await Self.readyOrders(30, in: root, url: url, delivery: #"timeout = "3s""#)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("requests under way") { receiver.received.count >= 1 }
        let stopping = ContinuousClock.now
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        let took = ContinuousClock.now - stopping
        #expect(p.terminationStatus == 0)
        #expect(took < .seconds(5), "stopped in \(took), within delivery.timeout and change")
        // Everything that was in flight was recorded as delivered; the rest waits, none lost.
        let db = try DatabaseQueue(path: root.path + "/state/backorderd.sqlite")
        let states: [String] = try await db.read { db in try String.fetchAll(db, sql: "SELECT state FROM outbox") }
        #expect(states.count == 30)
        #expect(!states.contains("in_flight"), "no request left unrecorded")
        let delivered = states.filter { $0 == "delivered" }.count
        // Recorded as delivered only what the receiver got (a request that timed out under
        // load is retried later, not counted).
        #expect(delivered <= Set(receiver.received.map(\.id)).count)
        let again = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if again.isRunning { kill(again.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(60), "all delivered after restart") {
            try DatabaseQueue(path: root.path + "/state/backorderd.sqlite").read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
            } == 30
        }
        kill(again.processIdentifier, SIGTERM)
        await again.exited()
        await receiver.stop()
        #expect(Set(receiver.received.map(\.id)).count == 30)
    }
}
