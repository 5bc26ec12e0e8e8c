import CCurl
import BackorderCore
import Foundation
import Logging
import ServiceLifecycle

/// Delivers the outbox: claims due messages per endpoint, signs and POSTs them over
/// libcurl, and records what happened — delivered, retried later, or dead.
///
/// Messages of one order go to an endpoint in the order they were made; a global
/// `concurrency` and a per-endpoint `max_in_flight` bound the requests under way; each
/// endpoint has a circuit breaker, so a dead receiver costs the others nothing. On
/// graceful shutdown it claims nothing more and lets the requests under way finish.
public final class Dispatcher: Service, @unchecked Sendable {
    private let queue: any OutboxQueue
    private let client: CurlClient
    private var _targets: [DeliveryTarget]
    private var _settings: DispatchSettings
    private var targets: [DeliveryTarget] { lock.withLock { _targets } }
    private var settings: DispatchSettings { lock.withLock { _settings } }

    /// Applies a reloaded configuration's endpoints and delivery settings; requests
    /// under way finish as they started.
    public func update(targets: [DeliveryTarget], settings: DispatchSettings) {
        lock.withLock {
            _targets = targets
            _settings = settings
        }
        wake.signal()
    }
    private let wake: WakeSignal
    private let logger: Logger
    private let now: @Sendable () -> Instant
    private let jitter: @Sendable () -> Double
    private let onBreaker: @Sendable (String, CircuitBreaker.State) -> Void
    /// Each attempt's outcome as decided (a retry past the last attempt is `.permanent`).
    private let onResult: @Sendable (String, Outcome, Duration) -> Void
    private let batchLogs: @Sendable (() -> Void) -> Void
    /// Called each time the loop goes round (at least once a second).
    public var onLoop: @Sendable () -> Void = {}
    private let lock = Lock()
    private var draining = false

    public init(queue: any OutboxQueue, client: CurlClient, targets: [DeliveryTarget], settings: DispatchSettings,
                wake: WakeSignal, logger: Logger, now: @escaping @Sendable () -> Instant,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                onBreaker: @escaping @Sendable (String, CircuitBreaker.State) -> Void = { _, _ in },
                onResult: @escaping @Sendable (String, Outcome, Duration) -> Void = { _, _, _ in },
                batchLogs: @escaping @Sendable (() -> Void) -> Void = { $0() }) {
        self.queue = queue
        self.client = client
        self._targets = targets
        self._settings = settings
        self.wake = wake
        self.logger = logger
        self.now = now
        self.jitter = jitter
        self.onBreaker = onBreaker
        self.onResult = onResult
        self.batchLogs = batchLogs
    }

    private var isDraining: Bool { lock.withLock { draining } }

    /// Runs the loop on a thread of its own: it blocks on the store (writes, the WAL's
    /// fsync) and on its wake signal, and should not hold one of the cooperative pool's
    /// few threads while it does, nor hop between them each time it wakes. Graceful
    /// shutdown or cancellation stops claiming; the loop ends once nothing is under way.
    public func run() async throws {
        try queue.releaseInFlight()
        let stop: @Sendable () -> Void = {
            self.lock.withLock { self.draining = true }
            self.wake.signal()
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    let thread = Thread {
                        bo_name_thread("dispatch")
                        self.loop()
                        done.resume()
                    }
                    thread.stackSize = 4 << 20
                    thread.start()
                }
            } onCancel: { stop() }
        } onGracefulShutdown: { stop() }
    }

    /// A request that ended, handed from the curl thread to the loop.
    private struct Finished {
        var message: OutboxMessage
        var endpoint: String
        var result: HTTPResult
    }

    /// Where the curl thread leaves finished requests; the loop takes them all at once.
    private final class Completions: @unchecked Sendable {
        private let lock = Lock()
        private var items: [Finished] = []
        private var threshold = 1

        /// Returns true for the item that reaches the threshold (the one worth a wake-up).
        func add(_ f: Finished) -> Bool {
            lock.withLock {
                items.append(f)
                return items.count == threshold
            }
        }
        func take() -> [Finished] {
            lock.withLock {
                defer { items.removeAll(keepingCapacity: true) }
                return items
            }
        }
        /// Sets how many items are worth a wake-up; false when that many are here already.
        func wantWake(at n: Int) -> Bool {
            lock.withLock {
                threshold = n
                return items.count < n
            }
        }
    }

    /// One loop, no task per request, executing what `DispatchMachine` decides. Each
    /// turn: take what finished; decide, log and count it; record the outcomes and claim
    /// the next messages in one transaction; hand the claimed messages to the client
    /// (each is signed as its request starts); wait until something finishes, a wake, or
    /// a timer.
    ///
    /// The client starts each handed message itself as soon as the global and the
    /// endpoint's `TransferLimit` have room, so the requests under way are topped up
    /// while this loop writes to the store. While an endpoint's breaker is closed, up to
    /// twice its `max_in_flight` are handed over (one round under way, one waiting);
    /// what waits is withdrawn, unsent, and goes back to the queue when the breaker
    /// opens, the endpoint goes away, or on shutdown.
    private func loop() {
        var machine = DispatchMachine(now: now())
        let global = TransferLimit(max: settings.concurrency)
        var limits: [String: TransferLimit] = [:]
        let finished = Completions()

        func execute(_ actions: [DispatchMachine.Action], targets: [DeliveryTarget], settings: DispatchSettings) {
            for action in actions {
                switch action {
                case .globalMaximum(let n):
                    client.setMaximum(global, n)
                case .endpointMaximum(let name, let n):
                    if let limit = limits[name] { client.setMaximum(limit, n) } else { limits[name] = TransferLimit(max: n) }
                case .withdraw(nil):
                    client.withdraw(global)
                case .withdraw(let name?):
                    if let limit = limits[name] { client.withdraw(limit) }
                case .attempted(let e, let decision, let attempt):
                    report(e, decision, attempt: attempt)
                case .breaker(let name, let state, let b):
                    logBreaker(name, state, b)
                case .held(let m, let endpoint, let until):
                    logger.info("quiet_hours", metadata: ["webhook_id": "\(m.webhookID)", "endpoint": "\(endpoint)",
                                                          "type": "\(m.type)", "order": "\(m.orderKey)", "until": "\(until)"])
                case .hand(let messages, let endpoint):
                    guard let target = targets.first(where: { $0.name == endpoint }) else {
                        // Never: claims come from this turn's targets. Should it happen, the
                        // machine counted them as handed: they come back unsent next turn.
                        for m in messages { _ = finished.add(Finished(message: m, endpoint: endpoint, result: .notSent("no such endpoint"))) }
                        continue
                    }
                    let limit = limits[endpoint] ?? TransferLimit(max: target.maxInFlight)
                    limits[endpoint] = limit
                    hand(messages, to: target, limit: limit, settings: settings)
                }
            }
        }

        /// Hands `messages` to the client, each to be signed as it starts.
        func hand(_ messages: [OutboxMessage], to target: DeliveryTarget, limit: TransferLimit, settings: DispatchSettings) {
            // Signed as each request starts, on the curl thread: one handed over may wait
            // for a free connection, and receivers reject a stale `webhook-timestamp`.
            let signer = target.signer
            let now = self.now
            let posts = messages.map { m in
                let (id, body) = (m.webhookID, m.body)
                return HTTPPost(url: target.url, headers: [], body: body, timeout: settings.timeout.duration) {
                    let ts = now().milliseconds / 1000
                    return ["content-type: application/json", "webhook-id: \(id)", "webhook-timestamp: \(ts)",
                            "webhook-signature: \(signer.signature(id: id, timestamp: ts, body: body))"]
                }
            }
            let wake = self.wake
            let name = target.name
            client.send(posts, limits: [global, limit]) { i, result in
                if finished.add(Finished(message: messages[i], endpoint: name, result: result)) { wake.signal() }
            }
        }

        while true {
            onLoop()
            let settings = self.settings  // one snapshot per turn (a reload swaps it)
            let targets = self.targets
            let draining = isDraining
            let endpoints = targets.map { DispatchPlan.Endpoint(name: $0.name, maxInFlight: $0.maxInFlight) }
            execute(machine.begin(endpoints: endpoints, concurrency: settings.concurrency, draining: draining),
                    targets: targets, settings: settings)
            let done = finished.take()
            var t = now()
            if !done.isEmpty {
                let ended = done.map { f in
                    f.result.wasNotSent  // withdrawn: no attempt made
                        ? DispatchMachine.Ended(message: f.message, endpoint: f.endpoint, outcome: nil)
                        : DispatchMachine.Ended(message: f.message, endpoint: f.endpoint, outcome: Outcome.classify(f.result),
                                                error: describe(Outcome.classify(f.result), f.result), elapsed: f.result.elapsed,
                                                status: f.result.status > 0 ? f.result.status : nil)
                }
                let actions = machine.ended(ended, now: t, retry: settings.retry, jitter: jitter)
                batchLogs { execute(actions, targets: targets, settings: settings) }
            }
            let plan = machine.claims(
                endpoints: endpoints, limits: DispatchPlan.Limits(concurrency: settings.concurrency, claimBatch: settings.claimBatch),
                draining: draining,
                newBreaker: { CircuitBreaker(threshold: settings.breakerThreshold, initialCooldown: settings.breakerCooldown,
                                             maxCooldown: settings.breakerMaxCooldown) },
                now: t)
            var claimed: [String: [OutboxMessage]] = [:]
            if !plan.isEmpty || machine.hasUpdates {
                do {
                    claimed = try queue.exchange(record: machine.updates, endpointErrors: machine.errors,
                                                 claim: plan.map { ($0.endpoint, $0.limit) }, now: t,
                                                 // Handed over, a message waits behind at most twice the
                                                 // concurrency, so two requests' time, then takes one.
                                                 leaseUntil: t + settings.timeout + settings.timeout + settings.timeout + .seconds(30))
                    if machine.recorded() { wake.signal() }  // a retry may be due before the next timer
                } catch {
                    // Leases expire and unrecorded messages are sent again, with the same ids.
                    logger.error("store_error", metadata: ["action": "delivery outcomes not recorded; retrying", "error": "\(error)"])
                }
            }
            t = now()
            let quiet = Dictionary(targets.map { ($0.name, $0.quietHours) }, uniquingKeysWith: { a, _ in a })
            execute(machine.claimed(claimed, for: plan, quiet: { quiet[$0] ?? nil }, now: t, offset: { offset($0, at: t) }),
                    targets: targets, settings: settings)
            if machine.reclaimDue(now: t) {
                // Outcomes that could not be recorded (a store error) leave leases to run out.
                if let n = try? queue.reclaimExpiredLeases(now: t), n > 0 {
                    logger.warning("leases_expired", metadata: ["messages": "\(n)", "detail": "sent again with the same ids"])
                }
            }
            switch machine.next(draining: draining) {
            case .stop:
                if machine.hasUpdates { try? queue.record(machine.updates, endpointErrors: machine.errors, now: now()) }
                return
            case .again:
                continue
            case .wait(let gather, let untilDue):
                if finished.wantWake(at: gather) {
                    var wait = untilDue ? nextWait(machine.breakers) : .seconds(1)
                    if gather > 1 { wait = min(wait, .milliseconds(20)) }
                    wake.block(timeout: wait)
                }
            }
        }
    }

    /// Logs one attempt and counts it as decided: an attempt that could be retried but
    /// ran out of attempts or age is a dead letter, not a retry.
    private func report(_ e: DispatchMachine.Ended, _ decision: DeliveryDecision.Action, attempt: Int) {
        let m = e.message
        if case .dead(_, .exhausted(let reason, _)) = decision {
            onResult(e.endpoint, .permanent(reason: reason), e.elapsed)
        } else if let outcome = e.outcome {
            onResult(e.endpoint, outcome, e.elapsed)
        }
        // `.string(…)`, not interpolated literals: one line per delivery, so no copies.
        // Room for every key up front: growing the dictionary for the seventh key cost a rehash per line.
        var meta = Logger.Metadata(minimumCapacity: 10)
        meta["order"] = .string(m.orderKey)
        meta["webhook_id"] = .string(m.webhookID)
        meta["endpoint"] = .string(e.endpoint)
        meta["type"] = .string(m.type)
        meta["attempt"] = .string(String(attempt))
        meta["ms"] = .string(String(e.elapsed.milliseconds))
        if let status = e.status { meta["status"] = .string(String(status)) }
        switch decision {
        case .delivered:
            logger.info("delivered", metadata: meta)
        case .retry(_, let reason, let next):
            meta["reason"] = "\(reason)"
            meta["next"] = "\(next)"
            logger.warning("retry_scheduled", metadata: meta)
        case .dead(_, .exhausted(let reason, _)):
            meta["reason"] = "\(reason)"
            meta["detail"] = "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"); requeue with backorderd dead-letters requeue \(m.webhookID)"
            logger.error("dead_letter", metadata: meta)
        case .dead(_, .refused(let reason)):
            meta["reason"] = "\(reason)"
            meta["detail"] = "the receiver refused it; fix the receiver, then backorderd dead-letters requeue \(m.webhookID)"
            logger.error("dead_letter", metadata: meta)
        }
    }

    /// The error recorded for a failed attempt: its reason and what libcurl or the receiver said.
    private func describe(_ outcome: Outcome, _ r: HTTPResult) -> String {
        let reason: String
        switch outcome {
        case .delivered: return ""
        case .retry(let why, _), .permanent(let why): reason = why
        }
        if r.curlCode != 0 { return "\(reason): \(r.curlError)" }
        return "\(reason): HTTP \(r.status)"
    }

    private func nextWait(_ breakers: [String: CircuitBreaker]) -> Duration {
        DispatchPlan.wait(nextDue: try? queue.nextDue(), breakers: breakers, now: now()).duration
    }

    private func offset(_ zone: String?, at t: Instant) -> Int {
        let tz = zone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: settings.defaultTimeZone) ?? TimeZone(identifier: "UTC")!
        return tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.milliseconds) / 1000))
    }

    private func logBreaker(_ endpoint: String, _ state: CircuitBreaker.State, _ b: CircuitBreaker) {
        onBreaker(endpoint, state)
        switch state {
        case .open:
            logger.warning("breaker_open", metadata: ["endpoint": "\(endpoint)", "failures": "\(b.failures)",
                                                      "probe_in": "\(b.cooldown)", "detail": "sending paused; other endpoints unaffected"])
        case .halfOpen:
            logger.info("breaker_probe", metadata: ["endpoint": "\(endpoint)"])
        case .closed:
            logger.info("breaker_closed", metadata: ["endpoint": "\(endpoint)", "detail": "receiver answers again; sending resumed"])
        }
    }
}
