import BackorderCore
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// Refreshes the queue gauges every few seconds while `/metrics` is served (by
/// `[metrics] listen`, `[http] listen`, or both).
public final class MetricsService: Service, @unchecked Sendable {
    private let metrics: DaemonMetrics
    private let store: any OutboxStore
    private let endpoints: [String]

    public init(metrics: DaemonMetrics, store: any OutboxStore, endpoints: [String]) {
        self.metrics = metrics
        self.store = store
        self.endpoints = endpoints
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    // The status page's indexed reads, not `status`'s scans of every line and message.
                    if let o = try? self.store.report(endpoints: self.endpoints, positions: 0, scope: .indexed) { self.metrics.queue(o) }
                    try? await Task.sleep(for: .seconds(5))
                }
            }
            try await gracefulShutdown()
            group.cancelAll()
        }
    }
}

/// `[metrics] listen`: `/metrics` alone, as Prometheus text.
struct MetricsHandler: PageHandler {
    let registry: PrometheusCollectorRegistry

    func respond(to request: PageRequest) -> PageResponse {
        guard request.path == "/metrics" else { return .text(404, "only /metrics is served here\n") }
        return PageResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: registry.emitToBuffer())
    }
}
