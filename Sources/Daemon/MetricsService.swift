import BackorderCore
import FlyingFox
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Store

/// Serves `/metrics` and refreshes the queue gauges every few seconds.
public final class MetricsService: Service, @unchecked Sendable {
    private let metrics: DaemonMetrics
    private let listen: String
    private let store: Store
    private let endpoints: [String]
    private let logger: Logger

    public init(metrics: DaemonMetrics, listen: String, store: Store, endpoints: [String], logger: Logger) {
        self.metrics = metrics
        self.listen = listen
        self.store = store
        self.endpoints = endpoints
        self.logger = logger
    }

    public func run() async throws {
        let colon = listen.lastIndex(of: ":")!
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let port = UInt16(listen[listen.index(after: colon)...]) ?? 9464
        let server = host.contains(":")
            ? HTTPServer(address: try sockaddr_in6.inet6(ip6: host, port: port), timeout: 10, logger: .disabled)
            : HTTPServer(address: try sockaddr_in.inet(ip4: host == "localhost" ? "127.0.0.1" : host, port: port), timeout: 10,
                         logger: .disabled)
        let registry = metrics.registry
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: Data(registry.emitToBuffer()))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch is CancellationError {
                } catch {
                    self.logger.error("metrics_failed", metadata: ["listen": "\(self.listen)", "error": "\(error)",
                                                                   "detail": "check metrics.listen; the daemon goes on without metrics"])
                }
            }
            group.addTask {
                try await server.waitUntilListening()
                self.logger.info("metrics_listening", metadata: ["listen": "\(self.listen)"])
            }
            group.addTask {
                while !Task.isCancelled {
                    if let r = try? self.store.status(endpoints: self.endpoints, limit: 0) { self.metrics.queue(r) }
                    try await Task.sleep(for: .seconds(5))
                }
            }
            try await gracefulShutdown()
            await server.stop(timeout: 1)
            group.cancelAll()
        }
    }
}
