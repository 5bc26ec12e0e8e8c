import BackorderCore
@testable import Daemon
import Delivery
import Engine
import Foundation
import Logging
import Store
import TestSupport
import Testing

@Suite struct ClockServiceTests {
    /// A store with one line whose estimate passed long ago.
    func overdueStore(_ root: TempDirectory) throws -> DecidingStore {
        let store = try DecidingStore(directory: root.sub("state"), subscriptions: [Subscription(endpoint: "email", events: ["backorder.overdue"])])
        let line = BackorderLine(order: "O-1", line: "1", key: PositionKey(sku: "A", location: "store"), qty: 1,
                                 orderedAt: .instant(Script.t0), promisedAt: .instant(Script.t0 + .days(1)),
                                 customer: Customer(id: "C", name: "Ana", email: "ana@example.com", phone: "+15551234567"))
        try store.applyBatch(IngestBatch(cursor: FileCursor(id: FileID(device: 1, inode: 1), name: "f", offset: 1, line: 1),
                                         records: [LocatedRecord(line: 1, record: .backorder(line))], readAt: Script.t0))
        return store
    }

    @Test func theClockWaitsForTheInboxToCatchUp() async throws {
        let root = TempDirectory()
        let store = try overdueStore(root)
        let gate = Gate()
        let seen = LogLines()  // the notice types, as they come
        let clock = ClockService(engine: store.engine, wake: WakeSignal(), logger: Logger(label: "test"), now: { Script.t0 + .days(3) },
                                 onNotices: { for n in $0 { seen.append(n.type.rawValue) } }, startAfter: gate)
        let task = Task { try await clock.run() }
        defer { task.cancel() }
        // An absence cannot be awaited: give an ungated clock ample time (it passes in
        // milliseconds) and check that nothing was told.
        let early: Void? = try? await eventually(timeout: .milliseconds(500), "an early pass") { !seen.all.isEmpty }
        #expect(early == nil && seen.all.isEmpty, "no clock pass before the inbox has caught up")
        #expect(try store.nextDeadline().map { $0 <= Script.t0 + .days(3) } == true, "the deadline is still due")
        gate.open()
        try await eventually("the overdue notice after catching up") { seen.all == ["backorder.overdue"] }
    }

    @Test func aGateLetsEveryoneThroughOnceOpenAndOnCancellation() async throws {
        let passed = LogLines()
        let gate = Gate()
        let waiting = Task { await gate.wait(); passed.append("waiter") }
        try await Task.sleep(for: .milliseconds(50))
        #expect(passed.all.isEmpty, "a closed gate holds its waiter")
        gate.open()
        try await eventually(timeout: .seconds(5), "the waiter goes through once open") { passed.all == ["waiter"] }
        await waiting.value
        let late = Task { await gate.wait(); passed.append("late") }
        try await eventually(timeout: .seconds(5), "an open gate lets a late waiter through at once") { passed.all.last == "late" }
        await late.value
        let closed = Gate()
        let cancelled = Task { await closed.wait(); passed.append("cancelled") }
        cancelled.cancel()
        try await eventually(timeout: .seconds(5), "a cancelled waiter returns although the gate never opened") {
            passed.all.last == "cancelled"
        }
    }
}
