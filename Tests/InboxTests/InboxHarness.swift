import BackorderCore
import Foundation
import Inbox
import Engine
import Logging
import Store
import TestSupport

/// A real inbox over a real store, in temp directories, on its own thread.
final class InboxHarness: @unchecked Sendable {
    let root: TempDirectory
    let inboxDir: String
    let stateDir: String
    let logs = LogLines()
    var settings: InboxSettings
    /// `Engine.decideBudget` for the engine the harness opens, when set.
    var decideBudget: Duration?
    private(set) var store: DecidingStore!
    private(set) var inbox: Inbox!
    private var done: DispatchSemaphore?

    init(settle: Span = .seconds(30), batchLines: Int = 10_000, poll: Span? = nil, root: TempDirectory = TempDirectory()) {
        self.root = root
        inboxDir = root.sub("inbox")
        stateDir = root.path + "/state"
        settings = InboxSettings(directory: inboxDir, settle: settle, batchLines: batchLines, pollInterval: poll)
    }

    /// Opens the store and starts the inbox; returns once it has caught up. Waits off
    /// the cooperative pool: a test parked on a semaphore there holds one of its two
    /// threads from every other test (and from the loopback receivers they run).
    func start() async throws {
        store = try DecidingStore(directory: stateDir, logger: CapturingLogHandler.logger(logs))
        if let decideBudget { store.engine.decideBudget = decideBudget }
        inbox = try Inbox(settings: settings, sink: DaemonPath(engine: store.engine), decoder: RecordDecoder(), logger: CapturingLogHandler.logger(logs),
                          now: { Instant(milliseconds: 1_800_000_000_000) })
        let ready = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        self.done = done
        let inbox = self.inbox!
        let logs = self.logs
        let t = Thread {
            do { try inbox.run(caughtUp: { ready.signal() }) } catch { logs.append("run failed: \(error)"); ready.signal() }
            done.signal()
        }
        t.start()
        await offPool { ready.wait() }
    }

    func stop() async {
        inbox?.stop()
        if let done { await offPool { done.wait() } }
        done = nil
        inbox = nil
        store = nil
    }

    deinit {
        inbox?.stop()
        done?.wait()
    }

    func path(_ name: String) -> String { inboxDir + "/" + name }

    func onHand(_ sku: String, _ location: String = "default") throws -> Int64? {
        try store.position(PositionKey(sku: sku, location: location))?.onHand
    }

    func waitOnHand(_ sku: String, _ value: Int64) async throws {
        try await eventually("\(sku) on_hand = \(value)") { try onHand(sku) == value }
    }

    var rejected: [String] {
        Files.read(stateDir + "/rejected.jsonl").split(separator: "\n").map(String.init)
    }

    static func stock(_ sku: String, _ onHand: Int) -> String { #"{"type":"stock","sku":"\#(sku)","on_hand":\#(onHand)}"# + "\n" }
    static func delta(_ sku: String, _ d: Int) -> String { #"{"type":"stock","sku":"\#(sku)","delta":\#(d)}"# + "\n" }
}

/// The sink the daemon uses, without its metrics: batches decided in memory and
/// checkpointed by the engine's policy and when the inbox goes idle (`Engine.apply`, by
/// contrast, writes a checkpoint per batch).
struct DaemonPath: IngestSink {
    let engine: Engine
    func loadCursors() throws -> [FileCursor] { try engine.loadCursors() }
    func forget(_ ids: [FileID]) throws { try engine.forget(ids) }
    func apply(_ batch: IngestBatch) throws -> IngestResult { try engine.ingest(batch) }
    func idle() throws { try engine.flush() }
}
