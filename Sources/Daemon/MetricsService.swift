import BackorderCore
import FlyingFox
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Store

/// The daemon's metrics, through swift-metrics, exposed as Prometheus text at
/// `http://metrics.listen/metrics` when `metrics.listen` is set.
public final class DaemonMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let applied: Metrics.Counter
    private let rejected: Metrics.Counter

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        applied = Metrics.Counter(label: "backorderd_records_applied_total", factory: factory)
        rejected = Metrics.Counter(label: "backorderd_records_rejected_total", factory: factory)
    }

    func batch(records: Int, rejects: Int) {
        applied.increment(by: records)
        rejected.increment(by: rejects)
    }

    func notices(_ notices: [Notice]) {
        for n in notices { Metrics.Counter(label: "backorderd_events_total", dimensions: [("type", n.type)], factory: factory).increment() }
    }

    /// Per (endpoint, outcome) and per endpoint: looked up once, not per delivery (a
    /// registry lookup validates names and hashes labels every time).
    private let lock = NSLock()
    private var deliveries: [String: Metrics.Counter] = [:]
    private var attempts: [String: Metrics.Timer] = [:]

    func delivery(endpoint: String, outcome: String, elapsed: Duration) {
        let (counter, timer) = lock.withLock {
            let key = endpoint + "\u{0}" + outcome
            let c: Metrics.Counter
            if let known = deliveries[key] {
                c = known
            } else {
                c = Metrics.Counter(label: "backorderd_deliveries_total", dimensions: [("endpoint", endpoint), ("outcome", outcome)],
                                    factory: factory)
                deliveries[key] = c
            }
            let t: Metrics.Timer
            if let known = attempts[endpoint] {
                t = known
            } else {
                t = Metrics.Timer(label: "backorderd_delivery_attempt_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
                attempts[endpoint] = t
            }
            return (c, t)
        }
        counter.increment()
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func queue(_ report: StatusReport) {
        for e in report.endpoints {
            Metrics.Gauge(label: "backorderd_queue_depth", dimensions: [("endpoint", e.name)], factory: factory).record(e.pending + e.inFlight)
            Metrics.Gauge(label: "backorderd_dead_letters", dimensions: [("endpoint", e.name)], factory: factory).record(e.dead)
        }
        Metrics.Gauge(label: "backorderd_lines_waiting", factory: factory).record(report.lines["waiting"] ?? 0)
    }
}

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
