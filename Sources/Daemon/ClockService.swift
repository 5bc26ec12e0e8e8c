import BackorderCore
import Delivery
import Logging
import ServiceLifecycle
import Engine

/// Runs the time-driven decisions (overdue estimates, long waits) when the next
/// deadline arrives, with no input needed.
///
/// It starts once the inbox has caught up (`startAfter`): a line is not told it is
/// overdue at start-up when a record later in the backlog readies it, and catching up
/// does not share the writer with clock passes.
public final class ClockService: Service, @unchecked Sendable {
    private let engine: Engine
    private let wake: WakeSignal
    private let logger: Logger
    private let now: @Sendable () -> Instant
    private let onNotices: @Sendable ([Notice]) -> Void
    private let startAfter: Gate?
    /// The longest it sleeps without looking (a safety net for a changed wall clock).
    public static let longestSleep: Duration = .seconds(60)

    public init(engine: Engine, wake: WakeSignal, logger: Logger, now: @escaping @Sendable () -> Instant,
                onNotices: @escaping @Sendable ([Notice]) -> Void = { _ in }, startAfter: Gate? = nil) {
        self.engine = engine
        self.startAfter = startAfter
        self.wake = wake
        self.logger = logger
        self.now = now
        self.onNotices = onNotices
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.startAfter?.wait()
            await self.loop()
        }
    }

    private func loop() async {
        do {
            while !Task.isCancelled {
                var wait = Self.longestSleep
                do {
                    let t = now()
                    if let next = try engine.nextDeadline() {
                        if next <= t {
                            let notices = try engine.tick(now: t)
                            if !notices.isEmpty {
                                logger.info("clock_pass", metadata: ["messages": "\(notices.count)"])
                                onNotices(notices)
                            }
                            continue
                        }
                        wait = min(wait, .milliseconds((next - t).milliseconds))
                    }
                } catch {
                    logger.error("store_error", metadata: ["action": "clock pass; retrying in 5s", "error": "\(error)"])
                    wait = .seconds(5)
                }
                await wake.wait(timeout: wait)
            }
        }
    }
}
