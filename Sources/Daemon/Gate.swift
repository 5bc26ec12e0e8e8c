import BackorderCore
import Foundation

/// Opens once; whoever waits then (or later) goes through. The clock waits on one until
/// the inbox has caught up.
public final class Gate: @unchecked Sendable {
    private let lock = Lock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func open() {
        let ready = lock.withLock {
            isOpen = true
            defer { waiters.removeAll() }
            return waiters
        }
        for w in ready { w.resume() }
    }

    /// Returns once the gate is open, or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if isOpen || Task.isCancelled {
                    lock.unlock()
                    c.resume()
                } else {
                    waiters.append(c)
                    lock.unlock()
                }
            }
        } onCancel: {
            let all = lock.withLock {
                defer { waiters.removeAll() }
                return waiters
            }
            for w in all { w.resume() }
        }
    }
}
