@testable import Delivery
import Foundation
import Testing

@Suite struct WakeSignalTests {
    @Test func aSignalGivenBeforeBlockingIsNotLost() {
        let wake = WakeSignal()
        wake.signal()
        let start = ContinuousClock.now
        wake.block(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func aSignalIsUsedOnce() {
        let wake = WakeSignal()
        wake.signal()
        wake.signal()
        wake.block(timeout: .seconds(30))
        let start = ContinuousClock.now
        wake.block(timeout: .milliseconds(1_950))  // nothing pending: waits out the timeout
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(1_950))
        #expect(waited < .seconds(20), "the deadline's seconds and nanoseconds add up")
    }

    @Test func anotherThreadWakesABlockedOne() async {
        let wake = WakeSignal()
        let woke = ManagedAtomicFlag()
        let early = ManagedAtomicFlag()
        let thread = Thread {
            let start = ContinuousClock.now
            wake.block(timeout: .seconds(60))
            if ContinuousClock.now - start < .seconds(60) { early.set() }
            woke.set()
        }
        thread.start()
        // Signal until the blocked thread reports back: a signal sent before it blocked
        // stays pending and wakes it at once, one sent after wakes it from the wait.
        while !woke.isSet {
            wake.signal()
            try? await Task.sleep(for: .milliseconds(5))
        }
        #expect(early.isSet, "woken by the signal, not by the timeout")
    }

    @Test(.timeLimit(.minutes(1))) func aTaskWaiterIsWokenToo() async {
        let wake = WakeSignal()
        async let waited: Void = wake.wait(timeout: .seconds(600))  // a lost signal trips the time limit
        wake.signal()
        await waited
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
