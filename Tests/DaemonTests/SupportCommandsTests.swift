import BackorderCore
import Foundation
import GRDB
import TestSupport
import Testing

/// `order`, `message` and filtered `dead-letters`, on a state the real daemon built:
/// one order with a superseded and a dead message, dead letters on two endpoints.
@Suite struct SupportCommandsTests {
    static let secret = HostileInputTests.secret

    /// Runs the daemon through a story: a delay the email endpoint could not deliver (its
    /// receiver refuses connections, so it waits for a retry in an hour) is superseded by
    /// the ready that follows; the sms receiver answers 410, so its copies die at once,
    /// and so does the staff alert.
    /// `extra` is added to the configuration; `whileRunning` runs before the daemon stops.
    static func story(_ root: TempDirectory, extra: String = "",
                      whileRunning: (String) async throws -> Void = { _ in }) async throws -> (cfg: String, receiver: ScriptedReceiver) {
        let receiver = ScriptedReceiver(secret: secret) { _, _ in .status(410) }
        let url = try await receiver.start()
        let cfg = try BinaryTests.config(root)
        try Files.write(cfg, Files.read(cfg) + """

            [policy]
            low_stock_threshold = 5
            [delivery]
            initial_backoff = "1h"
            max_backoff = "1h"
            [[endpoints]]
            name = "email"
            url = "http://127.0.0.1:\(refusedPort())/hook"
            secret = "\(secret)"
            events = ["backorder.delayed", "backorder.ready"]
            [[endpoints]]
            name = "sms"
            url = "\(url)"
            secret = "\(secret)"
            events = ["backorder.delayed", "backorder.ready"]
            [[endpoints]]
            name = "staff"
            url = "\(url)"
            secret = "\(secret)"
            events = ["stock.low", "stock.out", "stock.oversold"]
            \(extra)
            """)
        chmod(cfg, 0o600)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        do {
            try await run(root, log: log, cfg: cfg, whileRunning: whileRunning)
        } catch {
            kill(p.processIdentifier, SIGKILL)
            throw error
        }
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        return (cfg, receiver)
    }

    private static func run(_ root: TempDirectory, log: String, cfg: String, whileRunning: (String) async throws -> Void) async throws {
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        try Files.drop(root.sub("inbox") + "/1.jsonl", """
            {"type":"stock","sku":"ABC","on_hand":10}
            {"type":"backorder","order":"O-1","line":"1","sku":"ABC","qty":20,"ordered_at":"2030-01-01T00:00:00Z","promised_at":"2030-01-05","customer":{"id":"C-1","email":"ana@example.com"}}
            {"type":"restock","po":"PO-9","sku":"ABC","quantity":50,"expected_at":"2030-02-01"}

            """)
        try await eventually(timeout: .seconds(20), "the delay failed on email, died on sms") {
            let text = Files.read(log)
            return text.contains("event=retry_scheduled order=O-1") && text.contains("event=dead_letter order=O-1")
        }
        try Files.drop(root.sub("inbox") + "/2.jsonl", #"{"type":"stock","sku":"ABC","on_hand":20}"# + "\n")
        try await eventually(timeout: .seconds(20), "the ready died on sms, the alert on staff") {
            let text = Files.read(log)
            return text.components(separatedBy: "event=dead_letter").count == 4  // sms delay, sms ready, staff out
        }
        try await whileRunning(cfg)
    }

    static func states(_ root: TempDirectory, endpoint: String) throws -> [String] {
        try DatabaseQueue(path: root.path + "/state/backorderd.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT state FROM outbox WHERE endpoint = ? ORDER BY id", arguments: [endpoint])
        }
    }

    @Test func anOrdersStoryAndItsMessagesFromTheCommandLine() async throws {
        let root = TempDirectory()
        let (cfg, receiver) = try await Self.story(root)
        defer { Task { await receiver.stop() } }

        let json = try await Binary.run(["order", "O-1", "--json", "--config", cfg])
        #expect(json.code == 0, "\(json.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(doc["order"] as? String == "O-1")
        let lines = try #require(doc["lines"] as? [[String: Any]])
        #expect(lines.count == 1)
        #expect(lines.first?["line"] as? String == "1" && lines.first?["sku"] as? String == "ABC")
        #expect(lines.first?["qty"] as? Int == 20 && lines.first?["status"] as? String == "ready")
        #expect(lines.first?["location"] as? String == "default")
        let messages = try #require(doc["messages"] as? [[String: Any]])
        func state(_ type: String, _ endpoint: String) -> String? {
            messages.first { $0["type"] as? String == type && $0["endpoint"] as? String == endpoint }?["state"] as? String
        }
        #expect(state("backorder.delayed", "email") == "superseded", "\(messages)")
        #expect(state("backorder.delayed", "sms") == "dead")
        #expect(state("backorder.ready", "sms") == "dead")
        #expect(state("backorder.ready", "email") == "pending")
        #expect(messages.allSatisfy { ($0["webhook_id"] as? String)?.hasPrefix("msg_") == true && $0["attempts"] is Int })
        #expect(!json.out.contains("ana@example.com"), "the story shows no contact details")

        let text = try await Binary.run(["order", "O-1", "--config", cfg])
        #expect(text.code == 0)
        #expect(text.out.contains("line 1: 20 x ABC @ default, ready"))
        #expect(text.out.contains("backorder.delayed  to email  superseded"))
        #expect(text.out.contains("to sms  dead  attempts 1") && text.out.contains("last error: http_410: HTTP 410"))

        let unknown = try await Binary.run(["order", "O-404", "--config", cfg])
        #expect(unknown.code == 1)
        #expect(unknown.err.contains("no order O-404"))

        let id = try #require(messages.first { $0["type"] as? String == "backorder.ready" }?["webhook_id"] as? String)
        let message = try await Binary.run(["message", id, "--config", cfg])
        #expect(message.code == 0, "\(message.err)")
        #expect(message.out.contains("to sms: dead, 1 attempt") && message.out.contains("to email: pending"))
        #expect(message.out.contains(": dead, http_410: HTTP 410"), "every attempt, with what the receiver said: \(message.out)")
        #expect(message.out.contains(#"body: {"type":"backorder.ready""#))
        #expect(message.out.contains("requeue: backorderd dead-letters requeue --endpoint sms \(id)"))
        let messageJSON = try await Binary.run(["message", id, "--json", "--config", cfg])
        let m = try #require(try JSONSerialization.jsonObject(with: Data(messageJSON.out.utf8)) as? [String: Any])
        #expect(m["webhook_id"] as? String == id && (m["copies"] as? [[String: Any]])?.count == 2)
        let sms = try #require((m["copies"] as? [[String: Any]])?.first { $0["endpoint"] as? String == "sms" })
        let history = try #require(sms["history"] as? [[String: Any]])
        #expect(history.count == 1 && history[0]["outcome"] as? String == "dead" && (history[0]["detail"] as? String)?.hasPrefix("http_410") == true)
        #expect(try await Binary.run(["message", "msg_nope", "--config", cfg]).code == 1)
    }

    @Test func deadLettersAreFilteredAndRequeuedByEndpoint() async throws {
        let root = TempDirectory()
        let (cfg, receiver) = try await Self.story(root)
        defer { Task { await receiver.stop() } }
        func dead(_ filter: [String]) async throws -> [[String: Any]] {
            let r = try await Binary.run(["dead-letters", "list", "--json", "--config", cfg] + filter)
            return r.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        #expect(try await dead([]).count == 3)
        #expect(try await dead(["--endpoint", "sms"]).count == 2)
        #expect(try await dead(["--endpoint", "sms", "--type", "backorder.ready"]).count == 1)
        #expect(try await dead(["--type", "stock.out"]).map { $0["endpoint"] as? String } == ["staff"])
        #expect(try await dead(["--since", "2100-01-01T00:00:00Z"]).isEmpty)

        let requeue = try await Binary.run(["dead-letters", "requeue", "--endpoint", "sms", "--config", cfg])
        #expect(requeue.code == 0, "\(requeue.err)")
        #expect(requeue.out.components(separatedBy: "requeued ").count == 3)
        #expect(try await dead([]).map { $0["endpoint"] as? String } == ["staff"], "the other endpoint's dead letters are left alone")
        #expect(try Self.states(root, endpoint: "sms") == ["pending", "pending"])
        let none = try await Binary.run(["dead-letters", "requeue", "--config", cfg])
        #expect(none.code != 0, "no ids, no --all, no filter: refused")
        let purge = try await Binary.run(["dead-letters", "purge", "--endpoint", "staff", "--config", cfg])
        #expect(purge.code == 0 && purge.out.contains("purged"))
        #expect(try await dead([]).isEmpty)
    }
}
