import BackorderCore
import Foundation

/// When a loop last went round: the watchdog pings systemd only while every loop it
/// watches has beaten recently, so a wedged ingest or dispatcher gets the daemon restarted.
public final class Heartbeat: @unchecked Sendable {
    private let lock = Lock()
    private var last = ContinuousClock.now
    public let name: String

    public init(_ name: String) { self.name = name }

    public func beat() { lock.withLock { last = ContinuousClock.now } }

    public var age: Duration { lock.withLock { ContinuousClock.now - last } }
}
