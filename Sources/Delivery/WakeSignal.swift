import Foundation

/// Wakes one waiting task early: the inbox signals after each batch, so the clock and
/// the dispatcher look again at once instead of at their next timer.
public final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
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
            lock.unlock()
        }
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
