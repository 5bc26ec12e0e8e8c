import BackorderCore

/// Per endpoint: deliveries and failed attempts in the last hour (sixty one-minute
/// buckets), and what the last attempt got. Kept in memory from the dispatcher's
/// results for the status page; a restart starts it empty.
public final class DeliveryWindow: @unchecked Sendable {
    public struct Summary: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        /// The last attempt's HTTP status (`204`) or reason (`timeout`, `http_503`), and when.
        public var last: String?
        public var lastAt: Instant?
    }

    static let buckets = 60
    static let bucket = Span.minutes(1)

    private struct Counts {
        var minute = Array(repeating: Int64.min, count: DeliveryWindow.buckets)
        var delivered = Array(repeating: 0, count: DeliveryWindow.buckets)
        var failed = Array(repeating: 0, count: DeliveryWindow.buckets)
        var last: String?
        var lastAt: Instant?

        mutating func add(_ outcome: Outcome, at now: Instant) {
            let minute = now.milliseconds / DeliveryWindow.bucket.milliseconds
            let n = Int64(DeliveryWindow.buckets)
            let slot = Int((minute % n + n) % n)
            if self.minute[slot] != minute {
                self.minute[slot] = minute
                delivered[slot] = 0
                failed[slot] = 0
            }
            switch outcome {
            case .delivered(let status):
                delivered[slot] += 1
                last = String(status)
            case .retry(let reason, _), .permanent(let reason):
                failed[slot] += 1
                last = reason
            }
            lastAt = now
        }
    }

    private let lock = Lock()
    private var endpoints: [String: Counts] = [:]

    public init() {}

    /// Counts one attempt's outcome at `now` (in place: the dispatcher calls this per attempt).
    public func record(endpoint: String, outcome: Outcome, at now: Instant) {
        lock.withLock { endpoints[endpoint, default: Counts()].add(outcome, at: now) }
    }

    /// The last hour up to `now`, per endpoint that had an attempt.
    public func summary(at now: Instant) -> [String: Summary] {
        let current = now.milliseconds / Self.bucket.milliseconds
        return lock.withLock {
            endpoints.mapValues { c in
                var s = Summary(last: c.last, lastAt: c.lastAt)
                for i in 0..<Self.buckets where c.minute[i] > current - Int64(Self.buckets) && c.minute[i] <= current {
                    s.delivered += c.delivered[i]
                    s.failed += c.failed[i]
                }
                return s
            }
        }
    }
}
