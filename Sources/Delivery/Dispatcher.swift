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

    /// One loop, no task per request. Each turn: take what finished; log and classify
    /// it; record the outcomes and claim the next messages in one transaction; hand the
    /// claimed messages to the client (each is signed as its request starts); wait until
    /// something finishes, a wake, or a timer.
    ///
    /// The client starts each handed message itself as soon as the global and the
    /// endpoint's `TransferLimit` have room, so the requests under way are topped up
    /// while this loop writes to the store. While an endpoint's breaker is closed, up to
    /// twice its `max_in_flight` are handed over (one round under way, one waiting);
    /// what waits is withdrawn, unsent, and goes back to the queue when the breaker
    /// opens, the endpoint goes away, or on shutdown.
    private func loop() {
        var breakers: [String: CircuitBreaker] = [:]
        var handed: [String: Int] = [:]  // handed to the client: waiting or under way
        var total = 0
        var globalMax = settings.concurrency
        let global = TransferLimit(max: globalMax)
        var limits: [String: (limit: TransferLimit, max: Int)] = [:]
        var updates: [DeliveryUpdate] = []
        var errors: [String: String] = [:]
        let finished = Completions()
        var lastReclaim = now()

        /// Hands `messages` to the client, each to be signed as it starts; customer
        /// messages in their quiet hours are postponed instead.
        func hand(_ messages: [OutboxMessage], to target: DeliveryTarget, at t: Instant, settings: DispatchSettings) {
            let (send, hold) = DispatchPlan.handOver(messages, quiet: target.quietHours, now: t) { offset($0, at: t) }
            for (m, until) in hold {
                updates.append(.postpone(rowID: m.rowID, until: until))
                logger.info("quiet_hours", metadata: ["webhook_id": "\(m.webhookID)", "endpoint": "\(target.name)",
                                                      "type": "\(m.type)", "order": "\(m.orderKey)", "until": "\(until)"])
            }
            guard !send.isEmpty, let limit = limits[target.name]?.limit else { return }
            handed[target.name, default: 0] += send.count
            total += send.count
            // Signed as each request starts, on the curl thread: one handed over may wait
            // for a free connection, and receivers reject a stale `webhook-timestamp`.
            let signer = target.signer
            let now = self.now
            let posts = send.map { m in
                let (id, body) = (m.webhookID, m.body)
                return HTTPPost(url: target.url, headers: [], body: body, timeout: settings.timeout.duration) {
                    let ts = now().milliseconds / 1000
                    return ["content-type: application/json", "webhook-id: \(id)", "webhook-timestamp: \(ts)",
                            "webhook-signature: \(signer.signature(id: id, timestamp: ts, body: body))"]
                }
            }
            let wake = self.wake
            let name = target.name
            let sent = send
            client.send(posts, limits: [global, limit]) { i, result in
                if finished.add(Finished(message: sent[i], endpoint: name, result: result)) { wake.signal() }
            }
        }

        while true {
            onLoop()
            let settings = self.settings  // one snapshot per turn (a reload swaps it)
            let targets = self.targets
            let draining = isDraining
            if settings.concurrency != globalMax {
                globalMax = settings.concurrency
                client.setMaximum(global, globalMax)
            }
            for target in targets {
                if let (limit, max) = limits[target.name] {
                    if max != target.maxInFlight {
                        client.setMaximum(limit, target.maxInFlight)
                        limits[target.name] = (limit, target.maxInFlight)
                    }
                } else {
                    limits[target.name] = (TransferLimit(max: target.maxInFlight), target.maxInFlight)
                }
            }
            // Not to be sent after all: back to the queue (they come back as finished, unsent).
            for w in DispatchPlan.withdrawals(draining: draining, total: total, handed: handed,
                                              isConfigured: { name in targets.contains { $0.name == name } }) {
                switch w {
                case .everything: client.withdraw(global)
                case .endpoint(let name): if let limit = limits[name]?.limit { client.withdraw(limit) }
                }
            }
            let done = finished.take()
            for f in done {
                total -= 1
                handed[f.endpoint, default: 0] -= 1
            }
            var t = now()
            if !done.isEmpty {
                batchLogs {
                    for f in done {
                        if f.result.wasNotSent {  // withdrawn: no attempt made
                            updates.append(.postpone(rowID: f.message.rowID, until: t))
                            continue
                        }
                        let failed = settle(f, at: t, settings: settings, into: &updates, errors: &errors)
                        if let state = breakers[f.endpoint]?.record(failure: failed, now: t) {
                            logBreaker(f.endpoint, state, breakers[f.endpoint]!)
                            if state == .open, let limit = limits[f.endpoint]?.limit { client.withdraw(limit) }
                        }
                    }
                }
            }
            let plan = draining ? [] : DispatchPlan.claims(
                endpoints: targets.map { DispatchPlan.Endpoint(name: $0.name, maxInFlight: $0.maxInFlight) },
                handed: handed, total: total,
                limits: DispatchPlan.Limits(concurrency: settings.concurrency, claimBatch: settings.claimBatch),
                breakers: &breakers,
                newBreaker: { CircuitBreaker(threshold: settings.breakerThreshold, initialCooldown: settings.breakerCooldown,
                                             maxCooldown: settings.breakerMaxCooldown) },
                now: t)
            var claimed: [String: [OutboxMessage]] = [:]
            if !plan.isEmpty || !updates.isEmpty || !errors.isEmpty {
                do {
                    claimed = try queue.exchange(record: updates, endpointErrors: errors,
                                                 claim: plan.map { ($0.endpoint, $0.limit) }, now: t,
                                                 // Handed over, a message waits behind at most twice the
                                                 // concurrency, so two requests' time, then takes one.
                                                 leaseUntil: t + settings.timeout + settings.timeout + settings.timeout + .seconds(30))
                    let retried = updates.contains { if case .retry = $0 { true } else { false } }
                    updates.removeAll(keepingCapacity: true)
                    errors.removeAll()
                    if retried { wake.signal() }  // a retry may be due before the next timer
                } catch {
                    // Leases expire and unrecorded messages are sent again, with the same ids.
                    logger.error("store_error", metadata: ["action": "delivery outcomes not recorded; retrying", "error": "\(error)"])
                }
            }
            var drained = false  // a claim came back short: the next due message sets the timer
            t = now()
            for claim in plan {
                let messages = claimed[claim.endpoint] ?? []
                if messages.count < claim.limit { drained = true }
                if claim.probing {
                    if messages.isEmpty { breakers[claim.endpoint]?.probeUnused(now: t) } else { logBreaker(claim.endpoint, .halfOpen, breakers[claim.endpoint]!) }
                }
                if !messages.isEmpty, let target = targets.first(where: { $0.name == claim.endpoint }) {
                    hand(messages, to: target, at: t, settings: settings)
                }
            }
            if t - lastReclaim >= .seconds(30) {
                // Outcomes that could not be recorded (a store error) leave leases to run out.
                lastReclaim = t
                if let n = try? queue.reclaimExpiredLeases(now: t), n > 0 {
                    logger.warning("leases_expired", metadata: ["messages": "\(n)", "detail": "sent again with the same ids"])
                }
            }
            if draining && total == 0 {
                if !updates.isEmpty || !errors.isEmpty { try? queue.record(updates, endpointErrors: errors, now: now()) }
                break
            }
            if !updates.isEmpty { continue }  // postponements to record before waiting
            // With many handed over, wait for a quarter of them to end (the client keeps
            // the rest going meanwhile) or 20 ms: fewer, larger turns and transactions.
            let gather = max(1, total / 4)
            if finished.wantWake(at: gather) {
                var wait = drained || total == 0 ? nextWait(breakers) : .seconds(1)
                if gather > 1 { wait = min(wait, .milliseconds(20)) }
                wake.block(timeout: wait)
            }
        }
    }

    /// Classifies one finished request, logs it, and adds what to record; returns
    /// whether it counts as a failure for the endpoint's breaker.
    private func settle(_ f: Finished, at t: Instant, settings: DispatchSettings,
                        into updates: inout [DeliveryUpdate], errors: inout [String: String]) -> Bool {
        let (m, r) = (f.message, f.result)
        let outcome = Outcome.classify(r)
        let attempt = m.attempts + 1
        // `.string(…)`, not interpolated literals: one line per delivery, so no copies.
        // Room for every key up front: growing the dictionary for the seventh key cost a rehash per line.
        var meta = Logger.Metadata(minimumCapacity: 10)
        meta["order"] = .string(m.orderKey)
        meta["webhook_id"] = .string(m.webhookID)
        meta["endpoint"] = .string(f.endpoint)
        meta["type"] = .string(m.type)
        meta["attempt"] = .string(String(attempt))
        meta["ms"] = .string(String(r.elapsed.milliseconds))
        if r.status > 0 { meta["status"] = .string(String(r.status)) }
        let error = describe(outcome, r)
        let action = DeliveryDecision.decide(outcome, rowID: m.rowID, attempt: attempt, createdAt: m.createdAt, now: t,
                                             policy: settings.retry, jitter: jitter(), error: error)
        updates.append(action.update)
        // Counted as decided: an attempt that could be retried but ran out of attempts
        // or age is a dead letter, not a retry.
        if case .dead(_, .exhausted(let reason, _)) = action {
            onResult(f.endpoint, .permanent(reason: "\(reason)"), r.elapsed)
        } else {
            onResult(f.endpoint, outcome, r.elapsed)
        }
        switch action {
        case .delivered:
            logger.info("delivered", metadata: meta)
        case .retry(_, let reason, let next):
            errors[f.endpoint] = error
            meta["reason"] = "\(reason)"
            meta["next"] = "\(next)"
            logger.warning("retry_scheduled", metadata: meta)
        case .dead(_, .exhausted(let reason, _)):
            errors[f.endpoint] = error
            meta["reason"] = "\(reason)"
            meta["detail"] = "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"); requeue with backorderd dead-letters requeue \(m.webhookID)"
            logger.error("dead_letter", metadata: meta)
        case .dead(_, .refused(let reason)):
            errors[f.endpoint] = error
            meta["reason"] = "\(reason)"
            meta["detail"] = "the receiver refused it; fix the receiver, then backorderd dead-letters requeue \(m.webhookID)"
            logger.error("dead_letter", metadata: meta)
        }
        return outcome.isFailure
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
