import Delivery
import Foundation
import TestSupport
import Testing

/// The results of requests handed to `CurlClient.send`, as they come back.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [Int: HTTPResult] = [:]

    func add(_ i: Int, _ r: HTTPResult) { lock.withLock { all[i] = r } }
    var count: Int { lock.withLock { all.count } }
    var values: [Int: HTTPResult] { lock.withLock { all } }
}

/// `TransferLimit`s against libcurl and a real receiver on 127.0.0.1: the curl thread
/// starts what waits as soon as a limit has room, and hands back what never started.
@Suite(.serialized) struct TransferLimitTests {
    func posts(_ n: Int, to url: String) -> [HTTPPost] {
        (0..<n).map { i in HTTPPost(url: url, headers: ["webhook-id: msg_\(i)"], body: Array("{}".utf8), timeout: .seconds(60)) }
    }

    @Test func aLimitHoldsTheRestBackUntilOneEnds() async throws {
        let receiver = ScriptedReceiver(secret: secret) { _, _ in .slow(.milliseconds(60), 204) }
        let url = try await receiver.start()
        let client = CurlClient(userAgent: "backorderd/test")
        let results = Results()
        client.send(posts(6, to: url), limits: [TransferLimit(max: 2)]) { results.add($0, $1) }
        try await eventually("all six answered") { results.count == 6 }
        client.shutdown()
        await receiver.stop()
        #expect(results.values.values.allSatisfy { $0.status == 204 })
        #expect(receiver.peakConcurrent() == 2)
    }

    @Test func withdrawnRequestsComeBackUnsentAndNeverReachTheReceiver() async throws {
        let receiver = ScriptedReceiver(secret: secret) { _, _ in .slow(.milliseconds(300), 204) }
        let url = try await receiver.start()
        let client = CurlClient(userAgent: "backorderd/test")
        let limit = TransferLimit(max: 1)
        let results = Results()
        client.send(posts(4, to: url), limits: [limit]) { results.add($0, $1) }
        try await eventually("the first reaches the receiver") { receiver.received.count == 1 }
        #expect(client.withdraw(limit) == 3)
        #expect(results.count == 3, "withdrawn requests are handed back at once")
        #expect(results.values.values.allSatisfy { $0.wasNotSent })
        try await eventually("the one under way ends") { results.count == 4 }
        #expect(results.values[0]?.status == 204)
        #expect(client.withdraw(limit) == 0)
        client.shutdown()
        await receiver.stop()
        #expect(receiver.received.count == 1)
    }

    @Test func raisingTheMaximumStartsWhatWaitsAtOnce() async throws {
        // The first request stays under way for 3 s (ample on a loaded machine, or under
        // ThreadSanitizer), so the two that waited must overlap it once the cap is raised.
        let receiver = ScriptedReceiver(secret: secret) { i, _ in .slow(i == 0 ? .seconds(3) : .seconds(1), 204) }
        let url = try await receiver.start()
        let client = CurlClient(userAgent: "backorderd/test")
        let limit = TransferLimit(max: 1)
        let results = Results()
        client.send(posts(3, to: url), limits: [limit, TransferLimit(max: 10)]) { results.add($0, $1) }
        try await eventually("the first reaches the receiver") { receiver.received.count == 1 }
        client.setMaximum(limit, 3)
        try await eventually("all three answered") { results.count == 3 }
        client.shutdown()
        await receiver.stop()
        #expect(receiver.peakConcurrent() == 3, "the two that waited started while the first was under way")
    }

    @Test func shutdownHandsBackWhatNeverStarted() async throws {
        let receiver = ScriptedReceiver(secret: secret) { _, _ in .slow(.milliseconds(200), 204) }
        let url = try await receiver.start()
        let client = CurlClient(userAgent: "backorderd/test")
        let results = Results()
        client.send(posts(3, to: url), limits: [TransferLimit(max: 1)]) { results.add($0, $1) }
        try await eventually("the first reaches the receiver") { receiver.received.count == 1 }
        client.shutdown()  // returns once the transfer under way has ended
        #expect(results.count == 3)
        #expect(results.values[0]?.status == 204)
        #expect(results.values.filter { $0.value.wasNotSent }.count == 2)
        client.send(posts(1, to: url)) { results.add($0 + 10, $1) }
        #expect(results.values[10]?.wasNotSent == true, "a request handed over after shutdown is refused at once")
        await receiver.stop()
        #expect(receiver.received.count == 1)
    }
}

@Suite(.serialized) struct HeadersAtStartTests {
    @Test func aWaitingRequestIsSignedWhenItStartsNotWhenItWasHandedOver() async throws {
        let receiver = ScriptedReceiver(secret: secret) { _, _ in .slow(.milliseconds(1_100), 204) }
        let url = try await receiver.start()
        let client = CurlClient(userAgent: "backorderd/test")
        let signer = try #require(WebhookSigner(secrets: [secret]))
        let body = Array(#"{"type":"backorder.ready"}"#.utf8)
        let posts = (0..<2).map { i in
            HTTPPost(url: url, headers: ["x-ignored: yes"], body: body, timeout: .seconds(5)) {
                let ts = Int64(Date().timeIntervalSince1970)
                return ["content-type: application/json", "webhook-id: msg_\(i)", "webhook-timestamp: \(ts)",
                        "webhook-signature: \(signer.signature(id: "msg_\(i)", timestamp: ts, body: body))"]
            }
        }
        let results = Results()
        client.send(posts, limits: [TransferLimit(max: 1)]) { results.add($0, $1) }
        try await eventually("both answered") { results.count == 2 }
        client.shutdown()
        await receiver.stop()
        let got = receiver.received
        #expect(got.count == 2 && got.allSatisfy(\.signatureValid))
        #expect(got.map(\.id) == ["msg_0", "msg_1"])
        // The second waited for the first's 1.1 s answer; its timestamp is when it left.
        #expect(got[1].timestamp - got[0].timestamp >= 1)
    }
}
