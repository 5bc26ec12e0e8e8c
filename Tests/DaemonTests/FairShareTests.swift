import BackorderCore
@testable import Daemon
import Foundation
import TestSupport
import Testing

/// Endpoints that never answer hold only their own share of `delivery.concurrency`.
@Suite struct FairShareTests {
    @Test(arguments: [
        (32, [Int](), 5, 6), (32, [], 1, 8), (32, [], 40, 1), (32, [16], 2, 8), (32, [16], 4, 4),
        (32, [40], 3, 1), (4, [], 3, 1), (1024, [], 2, 8),
    ])
    func aShareIsAnEqualPartOfWhatIsLeft(concurrency: Int, explicit: [Int], shared: Int, share: Int) {
        #expect(DispatchPlan.fairShare(concurrency: concurrency, explicit: explicit, shared: shared) == share)
    }

    @Test func fourEndpointsThatNeverAnswerDoNotHoldBackAFifth() async throws {
        let root = TempDirectory()
        let healthy = ScriptedReceiver(secret: HostileInputTests.secret)
        let healthyURL = try await healthy.start()
        let hanging = ScriptedReceiver(secret: HostileInputTests.secret) { _, _ in .slow(.seconds(60), 204) }
        let hangingURL = try await hanging.start()
        let cfg = try BinaryTests.config(root)
        var endpoints = ""
        for (name, url) in [("h1", hangingURL), ("h2", hangingURL), ("h3", hangingURL), ("h4", hangingURL), ("ok", healthyURL)] {
            endpoints += """

                [[endpoints]]
                name = "\(name)"
                url = "\(url)"
                secret = "\(HostileInputTests.secret)"
                events = ["backorder.ready"]
                """
        }
        // The defaults: delivery.concurrency 32, no max_in_flight. Attempts wait 40 s.
        try Files.write(cfg, Files.read(cfg) + "\n[delivery]\ntimeout = \"40s\"\n" + endpoints + "\n")
        chmod(cfg, 0o600)
        let check = try await Binary.run(["check", "--config", cfg])
        #expect(check.code == 0 && !check.err.contains("warning"), "\(check.err)")
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { kill(p.processIdentifier, SIGKILL) }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        var lines = #"{"type":"stock","sku":"S","on_hand":0}"# + "\n"
        for i in 1...60 {
            lines += #"{"type":"backorder","order":"O-\#(i)","line":"1","sku":"S","qty":1,"ordered_at":"2030-01-01T00:00:00Z","promised_at":"2030-01-05","customer":{"id":"C","email":"c@example.com"}}"# + "\n"
        }
        lines += #"{"type":"stock","sku":"S","on_hand":100}"# + "\n"
        try Files.drop(root.sub("inbox") + "/1.jsonl", lines)
        // 60 ready messages to each endpoint. The healthy one gets all of them while
        // no attempt to the others has ended (it was: 16, then nothing until their timeouts).
        try await eventually(timeout: .seconds(20), "all 60 delivered to the healthy endpoint") {
            Set(healthy.received.compactMap { ($0.json["data"] as? [String: Any])?["order"] as? String }).count == 60
        }
        #expect(hanging.peakConcurrent() <= 4 * 6, "the hanging endpoints hold their shares: \(hanging.peakConcurrent())")
        #expect(!Files.read(log).contains("event=retry_scheduled"), "no attempt to a hanging endpoint has ended yet")
        kill(p.processIdentifier, SIGKILL)
        await p.exited()
        await healthy.stop()
        await hanging.stop()
    }
}
