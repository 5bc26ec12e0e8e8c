import Delivery
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// `backorderd receive`, the demo's receiver, over real HTTP: a signed webhook is taken
/// and printed, one with a wrong signature is refused and said to be.
@Suite struct ReceiveCommandTests {
    @Test func aSignedWebhookIsTakenAndAForgedOneRefused() async throws {
        let root = TempDirectory()
        let port = refusedPort()
        let log = root.file("receive.log")
        let p = try Binary.start(["receive", "--listen", "127.0.0.1:\(port)", "--secret", HostileInputTests.secret], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("listening") { Files.read(log).contains("receiver listening") }
        let signer = try #require(WebhookSigner(secrets: [HostileInputTests.secret]))
        let body = Array(#"{"type":"backorder.ready","data":{"order":"O-7","customer":{"name":"Ana"},"lines":[]}}"#.utf8)
        func post(signature: String) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/hook")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            let ts = Int64(Date().timeIntervalSince1970)
            request.setValue("msg_1", forHTTPHeaderField: "webhook-id")
            request.setValue("\(ts)", forHTTPHeaderField: "webhook-timestamp")
            request.setValue(signature.isEmpty ? signer.signature(id: "msg_1", timestamp: ts, body: body) : signature,
                             forHTTPHeaderField: "webhook-signature")
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await post(signature: "") == 204)
        try await eventually("printed") { Files.read(log).contains("── backorder.ready  msg_1  signature ok") }
        #expect(Files.read(log).contains("order O-7 for Ana"))
        #expect(try await post(signature: "v1,Zm9yZ2Vk") == 401)
        try await eventually("refused") { Files.read(log).contains("SIGNATURE INVALID") }
        let short = try await Binary.run(["receive", "--secret", "whsec_c2hvcnQ="])
        #expect(short.code != 0 && short.err.contains("at least 128 bits"), "\(short.err)")
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
    }
}
