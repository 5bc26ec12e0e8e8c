import ServiceLifecycle

/// Runs a pass at start and then every `period` until graceful shutdown: the shape of
/// the daemon's housekeeping (retention, removed endpoints).
public struct PeriodicService: Service {
    let period: Duration
    let pass: @Sendable () -> Void

    public init(every period: Duration, pass: @escaping @Sendable () -> Void) {
        self.period = period
        self.pass = pass
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                pass()
                try? await Task.sleep(for: period)
            }
        }
    }
}
