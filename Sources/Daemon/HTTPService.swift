import BackorderCore
import Dispatch
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// An HTTP listener (`[http]` with the status pages, `[metrics]` with `/metrics`), until
/// graceful shutdown. A listener that cannot start is logged and the daemon goes on:
/// the page is a window, not part of the pipeline.
///
/// Built to be exposed: requests are parsed by SwiftNIO on its event loops, under the
/// limits of `HTTPLimits` (header size, connection count, deadlines); the pages are
/// built one at a time on a queue of their own, so neither a flood of requests nor a
/// slow page takes a thread from ingest, delivery or the systemd watchdog.
public final class HTTPService: Service, @unchecked Sendable {
    private let listen: String
    private let handler: any PageHandler
    private let logger: Logger
    private let event: String
    private let pages: DispatchQueue
    let budget = ConnectionBudget(limit: HTTPLimits.connections)

    init(listen: String, handler: any PageHandler, logger: Logger, event: String = "http") {
        self.listen = listen
        self.handler = handler
        self.logger = logger
        self.event = event
        pages = DispatchQueue(label: "backorderd.\(event).pages")
    }

    /// `HOST:PORT` (IPv4, a bracketed IPv6 literal, or localhost) as a bind address.
    static func address(_ listen: String) -> BindAddress {
        let colon = listen.lastIndex(of: ":") ?? listen.endIndex
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { host = "127.0.0.1" }
        let port = colon < listen.endIndex ? Int(listen[listen.index(after: colon)...]) ?? 0 : 0
        return .hostname(host, port: port)
    }

    public func run() async throws {
        let handler = self.handler, pages = self.pages
        let server = Server(
            childChannelSetup: GuardedHTTPChannel(budget: budget) { request, writer, channel in
                let page = PageRequest(method: request.method.rawValue, target: request.head.path ?? "/",
                                       authorization: request.headers[.authorization])
                // A client gone by the time its turn comes (hung up, or cut off by the
                // deadline) costs nothing: requests sent and dropped cannot pile up work.
                let response: PageResponse? = await withCheckedContinuation { done in
                    pages.async { done.resume(returning: channel.isActive ? handler.respond(to: page) : nil) }
                }
                guard let response else { return }
                try await Self.send(response, to: writer, head: request.method == .head)
            },
            configuration: ServerConfiguration(address: Self.address(listen)),
            onServerRunning: { [logger, event, listen] _ in
                logger.info("\(event)_listening", metadata: ["listen": "\(listen)"])
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "backorderd.\(event).server", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await server.run()
        } catch {
            logger.error("\(event)_failed", metadata: ["listen": "\(listen)", "error": "\(error)",
                                                      "detail": "check \(event).listen (is the port in use?); the daemon goes on without it"])
            try await gracefulShutdown()
        }
    }

    /// Writes a whole answer; for HEAD, its head with the length the body would have.
    static func send(_ response: PageResponse, to writer: consuming ResponseWriter, head: Bool) async throws {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
        }
        fields[.contentLength] = String(response.body.count)
        let status = HTTPResponse(status: .init(code: response.status), headerFields: fields)
        if head || response.body.isEmpty {
            try await writer.writeResponse(status)
        } else {
            try await writer.write(response: status, body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
        }
    }
}
