import BackorderCore
import Foundation
import Metrics
import Prometheus

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

    /// Messages decided, per type (`backorderd_events_total`).
    func decided(_ perType: [String: Int]) {
        for (type, count) in perType {
            Metrics.Counter(label: "backorderd_events_total", dimensions: [("type", type)], factory: factory).increment(by: count)
        }
    }

    /// Per (endpoint, outcome) and per endpoint: looked up once, not per delivery (a
    /// registry lookup validates names and hashes labels every time).
    private let lock = Lock()
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

    func queue(_ overview: StatusReport) {
        for e in overview.endpoints {
            Metrics.Gauge(label: "backorderd_queue_depth", dimensions: [("endpoint", e.name)], factory: factory).record(e.pending + e.inFlight)
            Metrics.Gauge(label: "backorderd_dead_letters", dimensions: [("endpoint", e.name)], factory: factory).record(e.dead)
        }
        Metrics.Gauge(label: "backorderd_lines_waiting", factory: factory).record(overview.linesWaiting)
    }
}
