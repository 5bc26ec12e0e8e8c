import Foundation

/// Wakes one waiter early: the inbox signals after each batch, so the clock and the
/// dispatcher look again at once instead of at their next timer. The waiter is a task
/// (`wait`) or a thread of its own (`block`), one at a time.
public final class WakeSignal: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        // Timed waits on the monotonic clock: a wall-clock step (NTP at boot, an
        // operator's `date -s`) must not stretch a one-second wait into an hour.
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        cond = .allocate(capacity: 1)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    public func signal() {
        pthread_mutex_lock(mutex)
        if let w = waiter {
            waiter = nil
            pthread_mutex_unlock(mutex)
            w.resume()
        } else {
            pending = true
            pthread_cond_signal(cond)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Blocks the calling thread until the next signal (at once if one is pending) or
    /// `timeout`. For a thread of its own, never a task: it holds the thread.
    public func block(timeout: Duration) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let (seconds, attoseconds) = timeout.components
        let nanos = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_mutex_lock(mutex)
        while !pending && pthread_cond_timedwait(cond, mutex, &deadline) != ETIMEDOUT {}
        pending = false
        pthread_mutex_unlock(mutex)
    }

    /// Returns at the next signal (or at once if one is pending), after `timeout`, or on cancellation.
    public func wait(timeout: Duration) async {
        let ready = locked {
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
                pthread_mutex_lock(mutex)
                if pending {
                    pending = false
                    pthread_mutex_unlock(mutex)
                    c.resume()
                } else if let old = waiter {
                    // One waiter at a time; a second one replaces the first, which returns.
                    waiter = c
                    pthread_mutex_unlock(mutex)
                    old.resume()
                } else {
                    waiter = c
                    pthread_mutex_unlock(mutex)
                }
            }
        } onCancel: {
            self.signal()
        }
    }
}
