import Foundation
import Logging
import ServiceLifecycle

/// Talks to systemd: `WATCHDOG=1` every half `WatchdogSec` while the ingest and
/// dispatch loops are alive, `STATUS=` with counters, `STOPPING=1` on shutdown.
/// `READY=1` is sent by the daemon once the inbox has caught up.
public final class NotifyService: Service, @unchecked Sendable {
    private let notifier: SystemdNotifier
    private let hearts: [Heartbeat]
    private let status: @Sendable () -> String
    private let logger: Logger
    private let interval: Duration?

    public init(notifier: SystemdNotifier, hearts: [Heartbeat], interval: Duration?, logger: Logger,
                status: @escaping @Sendable () -> String) {
        self.notifier = notifier
        self.hearts = hearts
        self.interval = interval
        self.logger = logger
        self.status = status
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await self.loop() }
        } onGracefulShutdown: {
            self.notifier.notify("STOPPING=1\nSTATUS=stopping: finishing deliveries under way")
        }
    }

    private func loop() async {
            let period = self.interval ?? .seconds(10)
            while !Task.isCancelled {
                let stale = self.hearts.filter { $0.age > max(period * 2, .seconds(5)) }
                if stale.isEmpty {
                    self.notifier.notify((self.interval == nil ? "" : "WATCHDOG=1\n") + "STATUS=" + self.status())
                } else {
                    self.logger.error("watchdog_withheld", metadata: ["detail": "no progress in \(stale.map(\.name).joined(separator: ", "))"])
                }
                try? await Task.sleep(for: period)
            }
    }
}
