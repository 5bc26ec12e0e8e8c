import Delivery
import FlyingFox
import Foundation

/// A real HTTP receiver on 127.0.0.1 whose answers a test scripts per request, and
/// which checks every Standard Webhooks signature it receives.
public final class ScriptedReceiver: @unchecked Sendable {
    public struct Received: Sendable {
        public var id: String
        public var timestamp: Int64
        public var signature: String
        public var body: Data
        public var signatureValid: Bool
        public var userAgent: String
        public var contentType: String
        public var at: ContinuousClock.Instant
        /// The request's path (several endpoints may post to one receiver).
        public var path = ""
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    public enum Reply: Sendable {
        case status(Int, headers: [String: String] = [:])
        case slow(Duration, Int)
    }

    private let lock = NSLock()
    private var log: [Received] = []
    private var open: [String: Int] = [:]
    private var peaks: [String: Int] = [:]
    private let signer: WebhookSigner
    private let script: @Sendable (Int, Received) -> Reply
    private let server: HTTPServer
    private var task: Task<Void, any Error>?

    public init(secret: String, script: @escaping @Sendable (Int, Received) -> Reply = { _, _ in .status(204) }) {
        signer = WebhookSigner(secrets: [secret])!
        self.script = script
        server = HTTPServer(address: try! .inet(ip4: "127.0.0.1", port: 0), timeout: 30, logger: .disabled)
    }

    /// Starts listening; returns the URL to post to.
    public func start() async throws -> String {
        await server.appendRoute("POST *") { [self] request in
            let path = request.path
            lock.withLock {
                for key in ["", path] {
                    open[key, default: 0] += 1
                    peaks[key] = max(peaks[key, default: 0], open[key]!)
                }
            }
            defer { lock.withLock { for key in ["", path] { open[key]! -= 1 } } }
            let body = try await request.bodyData
            let id = request.headers[HTTPHeader("webhook-id")] ?? ""
            let ts = Int64(request.headers[HTTPHeader("webhook-timestamp")] ?? "") ?? 0
            let sig = request.headers[HTTPHeader("webhook-signature")] ?? ""
            let r = Received(id: id, timestamp: ts, signature: sig, body: body,
                             signatureValid: signer.verify(id: id, timestamp: ts, body: [UInt8](body), header: sig),
                             userAgent: request.headers[HTTPHeader("user-agent")] ?? "",
                             contentType: request.headers[HTTPHeader("content-type")] ?? "", at: ContinuousClock.now, path: path)
            let index = lock.withLock { log.append(r); return log.count - 1 }
            switch script(index, r) {
            case .status(let code, let headers):
                var h = HTTPHeaders()
                for (k, v) in headers { h[HTTPHeader(k)] = v }
                return HTTPResponse(statusCode: HTTPStatusCode(code, phrase: "Scripted"), headers: h)
            case .slow(let d, let code):
                try? await Task.sleep(for: d)
                return HTTPResponse(statusCode: HTTPStatusCode(code, phrase: "Slow"))
            }
        }
        let server = self.server
        task = Task { try await server.run() }
        // A generous limit: under ThreadSanitizer, with the suite in parallel on two cores,
        // the listener has taken more than the default 5 s to come up.
        try await server.waitUntilListening(timeout: 60)
        guard case .ip4(_, let port)? = await server.listeningAddress else { throw ReceiverError.noPort }
        return "http://127.0.0.1:\(port)/hook"
    }

    public func stop() async {
        await server.stop(timeout: 1)
        task?.cancel()
    }

    public var received: [Received] { lock.withLock { log } }

    /// The most requests under way at once, on one path or (with `nil`) on all.
    public func peakConcurrent(path: String? = nil) -> Int { lock.withLock { peaks[path ?? "", default: 0] } }

    enum ReceiverError: Error { case noPort }
}

/// A TCP listener that answers each request with the start of a response and then
/// closes the connection: a receiver that resets mid-response.
public final class ResettingReceiver: @unchecked Sendable {
    private let fd: Int32
    public let port: UInt16
    private var thread: Thread?
    private let lock = NSLock()
    private var _count = 0
    public var count: Int { lock.withLock { _count } }

    /// `reply` is what every connection gets before it is reset: by default the start of
    /// an HTTP response cut short; any bytes at all (an answer that is not HTTP).
    public init(reply: String = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin_port)
        let t = Thread { [weak self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                var buf = [UInt8](repeating: 0, count: 65536)
                _ = read(c, &buf, buf.count)
                _ = reply.withCString { write(c, $0, strlen($0)) }
                var lin = linger(l_onoff: 1, l_linger: 0)
                setsockopt(c, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
                close(c)
                self?.lock.withLock { self?._count += 1 }
            }
        }
        thread = t
        t.start()
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    public func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

/// A loopback port nobody listens on: connecting is refused.
public func refusedPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var bound = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    close(fd)
    return UInt16(bigEndian: bound.sin_port)
}
