import Foundation

/// Wakes one waiter early: the inbox signals after each batch, so the clock and the
/// dispatcher look again at once instead of at their next timer. The waiter is a task
/// (`wait`) or a thread of its own (`block`), one at a time.
public final class WakeSignal: @unchecked Sendable {
    private let lock = NSCondition()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    public init() {}

    public func signal() {
        lock.lock()
        if let w = waiter {
            waiter = nil
            lock.unlock()
            w.resume()
        } else {
            pending = true
            lock.signal()
            lock.unlock()
        }
    }

    /// Blocks the calling thread until the next signal (at once if one is pending) or
    /// `timeout`. For a thread of its own, never a task: it holds the thread.
    public func block(timeout: Duration) {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        lock.lock()
        while !pending && lock.wait(until: deadline) {}
        pending = false
        lock.unlock()
    }

    /// Returns at the next signal (or at once if one is pending), after `timeout`, or on cancellation.
    public func wait(timeout: Duration) async {
        let ready = lock.withLock {
            defer { pending = false }
            return pending
        }
        if ready { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.signal() }
            }
            group.addTask { await self.next() }
            await group.next()
            group.cancelAll()
        }
    }

    private func next() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if pending {
                    pending = false
                    lock.unlock()
                    c.resume()
                } else if let old = waiter {
                    // One waiter at a time; a second one replaces the first, which returns.
                    waiter = c
                    lock.unlock()
                    old.resume()
                } else {
                    waiter = c
                    lock.unlock()
                }
            }
        } onCancel: {
            self.signal()
        }
    }
}
