import CCurl
import BackorderCore
@testable import Delivery
import Foundation
import Testing

@Suite struct SignerTests {
    struct Fixture: Decodable {
        var secret: String
        var webhook_id: String
        var webhook_timestamp: String
        var body: String
        var webhook_signature: String
    }

    static func fixture() throws -> Fixture {
        // Vendored in the repository (Tests/Fixtures/README.md names its source).
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir = dir.deletingLastPathComponent() }
        let url = dir.appendingPathComponent("Fixtures/standard-webhooks-signature.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    @Test func reproducesThePublishedStandardWebhooksExample() throws {
        let f = try Self.fixture()
        let signer = try #require(WebhookSigner(secrets: [f.secret]))
        let sig = signer.signature(id: f.webhook_id, timestamp: Int64(f.webhook_timestamp)!, body: Array(f.body.utf8))
        #expect(sig == f.webhook_signature)
        #expect(signer.verify(id: f.webhook_id, timestamp: Int64(f.webhook_timestamp)!, body: Array(f.body.utf8), header: f.webhook_signature))
        #expect(!signer.verify(id: f.webhook_id, timestamp: Int64(f.webhook_timestamp)! + 1, body: Array(f.body.utf8), header: f.webhook_signature))
    }

    @Test func rotationSignsWithEverySecret() throws {
        let f = try Self.fixture()
        let signer = try #require(WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", f.secret]))
        let sig = signer.signature(id: f.webhook_id, timestamp: Int64(f.webhook_timestamp)!, body: Array(f.body.utf8))
        let parts = sig.split(separator: " ")
        #expect(parts.count == 2)
        #expect(parts[1] == Substring(f.webhook_signature))
    }

    @Test func base64MatchesFoundationForEveryPaddingCase() {
        var rng = SystemRandomNumberGenerator()
        for n in 0...70 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "\(n) bytes")
        }
        #expect(Base64.encode(Array("foob".utf8)) == "Zm9vYg==")
    }
}

@Suite struct HeaderListTests {
    @Test func oneAllocationHoldsEveryLineInOrder() throws {
        let lines = ["content-type: application/json", "", "webhook-id: msg_ü", "Expect:"]
        let list = try #require(CurlClient.headerList(lines))
        defer { free(list) }
        var seen: [String] = []
        var node: UnsafeMutablePointer<curl_slist>? = list
        while let n = node {
            seen.append(String(cString: n.pointee.data))
            node = n.pointee.next
        }
        #expect(seen == lines)
        #expect(CurlClient.headerList([]) == nil)
    }
}

@Suite struct OutcomeTests {
    func result(_ status: Int, curl: Int = 0, retryAfter: Int? = nil) -> HTTPResult {
        HTTPResult(status: status, curlCode: curl, curlError: curl == 0 ? "" : "boom", retryAfter: retryAfter, body: [], elapsed: .zero)
    }

    @Test(arguments: [
        (200, 0, Outcome.delivered(status: 200)),
        (204, 0, .delivered(status: 204)),
        (500, 0, .retry(reason: "http_500", after: nil)),
        (503, 0, .retry(reason: "http_503", after: nil)),
        (408, 0, .retry(reason: "http_408", after: nil)),
        (425, 0, .retry(reason: "http_425", after: nil)),
        (429, 0, .retry(reason: "throttled", after: nil)),
        (400, 0, .permanent(reason: "http_400")),
        (410, 0, .permanent(reason: "http_410")),
        (301, 0, .permanent(reason: "redirect_301")),
        (302, 0, .permanent(reason: "redirect_302")),
        (0, 7, .retry(reason: "connect", after: nil)),
        (0, 28, .retry(reason: "timeout", after: nil)),
        (0, 60, .retry(reason: "tls", after: nil)),
        (0, 56, .retry(reason: "network", after: nil)),
        // An answer that is not HTTP (libcurl's code 1, "HTTP/0.9 not allowed") is the
        // receiver's fault of the moment: retried, not dead-lettered at once.
        (0, 1, .retry(reason: "protocol", after: nil)),
        (0, 3, .permanent(reason: "bad_url")),
        // A 2xx status line, then the body cut (56) or timed out (28): delivered.
        (200, 56, .delivered(status: 200)),
        (202, 28, .delivered(status: 202)),
        (500, 56, .retry(reason: "network", after: nil)),
    ])
    func classifies(status: Int, curl: Int, expected: Outcome) {
        #expect(Outcome.classify(result(status, curl: curl)) == expected)
    }

    @Test func retryAfterIsKept() {
        #expect(Outcome.classify(result(429, retryAfter: 7)) == .retry(reason: "throttled", after: .seconds(7)))
        #expect(Outcome.classify(result(503, retryAfter: 2)) == .retry(reason: "http_503", after: .seconds(2)))
    }

    @Test func anAbsurdRetryAfterSaturatesAndIsCappedAtMaxBackoff() {
        // 9.3e15 s once overflowed the milliseconds of a span and trapped the daemon.
        let outcome = Outcome.classify(result(503, retryAfter: 9_300_000_000_000_000))
        #expect(outcome == .retry(reason: "http_503", after: Span(milliseconds: Int64.max)))
        guard case .retry(_, let after) = outcome else { return }
        let policy = RetryPolicy(initialBackoff: .seconds(5), maxBackoff: .hours(6), maxAttempts: 12, maxAge: .hours(72))
        #expect(policy.delay(afterAttempt: 1, retryAfter: after, jitter: 0.3) == .hours(6))
        #expect(Instant(milliseconds: 1) + Span(milliseconds: Int64.max) == Instant(milliseconds: Int64.max))
    }
}

@Suite struct RetryPolicyTests {
    let p = RetryPolicy(initialBackoff: .seconds(5), maxBackoff: .hours(6), maxAttempts: 12, maxAge: .hours(72))

    @Test func backoffIsExponentialCappedAndJittered() {
        #expect(p.ceiling(afterAttempt: 1) == .seconds(5))
        #expect(p.ceiling(afterAttempt: 2) == .seconds(10))
        #expect(p.ceiling(afterAttempt: 4) == .seconds(40))
        #expect(p.ceiling(afterAttempt: 30) == .hours(6))
        #expect(p.ceiling(afterAttempt: 200) == .hours(6))
        #expect(p.delay(afterAttempt: 3, retryAfter: nil, jitter: 0.5) == .seconds(10))
        #expect(p.delay(afterAttempt: 3, retryAfter: nil, jitter: 0) == .zero)
    }

    @Test func retryAfterWinsWithinBounds() {
        #expect(p.delay(afterAttempt: 1, retryAfter: .seconds(120), jitter: 0.1) == .seconds(120))
        #expect(p.delay(afterAttempt: 1, retryAfter: .days(30), jitter: 0.1) == .hours(6))
    }

    @Test func givesUpOnAttemptsOrAge() {
        let t = Instant(milliseconds: 0)
        #expect(!p.isExhausted(attempts: 11, created: t, next: t + .hours(1)))
        #expect(p.isExhausted(attempts: 12, created: t, next: t + .hours(1)))
        #expect(p.isExhausted(attempts: 3, created: t, next: t + .hours(73)))
    }
}

@Suite struct CircuitBreakerTests {
    @Test func opensProbesAndCloses() {
        var b = CircuitBreaker(threshold: 3, initialCooldown: .seconds(5), maxCooldown: .seconds(15))
        let t = Instant(milliseconds: 0)
        #expect(b.allowance(now: t) == nil)
        #expect(b.record(failure: true, now: t) == nil)
        #expect(b.record(failure: true, now: t) == nil)
        #expect(b.record(failure: true, now: t) == .open)
        #expect(b.allowance(now: t + .seconds(4)) == 0)
        #expect(b.allowance(now: t + .seconds(5)) == 1)
        #expect(b.state == .halfOpen)
        #expect(b.allowance(now: t + .seconds(5)) == 0, "one probe at a time")
        #expect(b.record(failure: true, now: t + .seconds(6)) == .open)
        #expect(b.cooldown == .seconds(10))
        _ = b.allowance(now: t + .seconds(16))
        #expect(b.record(failure: true, now: t + .seconds(16)) == .open)
        #expect(b.cooldown == .seconds(15), "capped")
        _ = b.allowance(now: t + .seconds(31))
        #expect(b.record(failure: false, now: t + .seconds(31)) == .closed)
        #expect(b.cooldown == .seconds(5))
    }

    @Test func successesResetTheCount() {
        var b = CircuitBreaker(threshold: 2)
        let t = Instant(milliseconds: 0)
        b.record(failure: true, now: t)
        b.record(failure: false, now: t)
        #expect(b.record(failure: true, now: t) == nil)
    }

    @Test func anUnusedProbeIsOfferedAgain() {
        var b = CircuitBreaker(threshold: 1, initialCooldown: .seconds(1))
        let t = Instant(milliseconds: 0)
        b.record(failure: true, now: t)
        #expect(b.allowance(now: t + .seconds(1)) == 1)
        b.probeUnused(now: t + .seconds(1))
        #expect(b.allowance(now: t + .seconds(1)) == 1)
    }
}

@Suite struct QuietHoursTests {
    @Test func postponesUntilTheWindowEnds() {
        let q = QuietHours.parse("21:00-08:00")!
        let t = Instant(milliseconds: 1_796_083_200_000)  // 2026-12-01T00:00:00Z
        #expect(q.end(after: t, offsetSeconds: 0) == Instant(milliseconds: 1_796_083_200_000 + 8 * 3_600_000))
        // 00:00 UTC is 19:00 in New York (UTC-5): outside the window.
        #expect(q.end(after: t, offsetSeconds: -5 * 3600) == nil)
        // 00:00 UTC is 22:00 at UTC-2: ends at 08:00 local = 10:00 UTC.
        #expect(q.end(after: t, offsetSeconds: -2 * 3600) == Instant(milliseconds: 1_796_083_200_000 + 10 * 3_600_000))
    }
}
