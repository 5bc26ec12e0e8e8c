import BackorderCore
import FlyingFox
import Foundation
import Logging
import ServiceLifecycle

/// The `[http]` listener: the status pages and `/metrics` (`StatusHandler`), until
/// graceful shutdown. A listener that cannot start is logged and the daemon goes on:
/// the page is a window, not part of the pipeline.
public final class HTTPService: Service, @unchecked Sendable {
    private let listen: String
    private let handler: any HTTPHandler
    private let logger: Logger
    private let event: String

    init(listen: String, handler: any HTTPHandler, logger: Logger, event: String = "http") {
        self.listen = listen
        self.handler = handler
        self.logger = logger
        self.event = event
    }

    /// A server bound to `HOST:PORT` (IPv4, a bracketed IPv6 literal, or localhost).
    static func server(listen: String, handler: (any HTTPHandler)?) throws -> HTTPServer {
        let colon = listen.lastIndex(of: ":")!
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let port = UInt16(listen[listen.index(after: colon)...]) ?? 0
        return host.contains(":")
            ? HTTPServer(address: try sockaddr_in6.inet6(ip6: host, port: port), timeout: 10, logger: .disabled, handler: handler)
            : HTTPServer(address: try sockaddr_in.inet(ip4: host == "localhost" ? "127.0.0.1" : host, port: port), timeout: 10,
                         logger: .disabled, handler: handler)
    }

    public func run() async throws {
        let server: HTTPServer
        do {
            server = try Self.server(listen: listen, handler: handler)
        } catch {
            logger.error("\(event)_failed", metadata: ["listen": "\(listen)", "error": "\(error)",
                                                      "detail": "check \(event).listen; the daemon goes on without it"])
            return try await gracefulShutdown()
        }
        let stopping = Lock()
        nonisolated(unsafe) var stopped = false  // read and written under `stopping`
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch is CancellationError {
                } catch where stopping.withLock({ stopped }) {
                    // the server's own stop ends its accept loop with an error
                } catch {
                    self.logger.error("\(self.event)_failed", metadata: ["listen": "\(self.listen)", "error": "\(error)",
                                                                         "detail": "check \(self.event).listen (is the port in use?); the daemon goes on without it"])
                }
            }
            group.addTask {
                try await server.waitUntilListening()
                self.logger.info("\(self.event)_listening", metadata: ["listen": "\(self.listen)"])
            }
            try await gracefulShutdown()
            stopping.withLock { stopped = true }
            await server.stop(timeout: 1)
            group.cancelAll()
        }
    }
}
