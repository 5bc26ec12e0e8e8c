import BackorderCore
import Foundation
import Logging
import ServiceLifecycle

/// One webhook receiver, ready to send to.
public struct DeliveryTarget: Sendable {
    public var name: String
    public var url: String
    public var signer: WebhookSigner
    public var quietHours: QuietHours?
    public var maxInFlight: Int

    public init(name: String, url: String, signer: WebhookSigner, quietHours: QuietHours?, maxInFlight: Int) {
        self.name = name
        self.url = url
        self.signer = signer
        self.quietHours = quietHours
        self.maxInFlight = maxInFlight
    }
}

/// The dispatcher's knobs (`[delivery]`).
public struct DispatchSettings: Sendable {
    public var concurrency: Int
    public var timeout: Span
    public var retry: RetryPolicy
    /// The zone for customers without one, for quiet hours.
    public var defaultTimeZone: String
    /// Messages claimed per request batch to one endpoint: small enough that several
    /// batches are under way at once and a finished one is refilled while others fly.
    public var claimBatch = 16
    public var breakerThreshold = 5
    public var breakerCooldown: Span = .seconds(5)
    public var breakerMaxCooldown: Span = .minutes(5)

    public init(concurrency: Int, timeout: Span, retry: RetryPolicy, defaultTimeZone: String) {
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry
        self.defaultTimeZone = defaultTimeZone
    }
}

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
    private let onResult: @Sendable (String, Outcome, Duration) -> Void
    /// Called each time the loop goes round (at least once a second).
    public var onLoop: @Sendable () -> Void = {}
    private let lock = NSLock()
    private var draining = false

    public init(queue: any OutboxQueue, client: CurlClient, targets: [DeliveryTarget], settings: DispatchSettings,
                wake: WakeSignal, logger: Logger, now: @escaping @Sendable () -> Instant,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                onBreaker: @escaping @Sendable (String, CircuitBreaker.State) -> Void = { _, _ in },
                onResult: @escaping @Sendable (String, Outcome, Duration) -> Void = { _, _, _ in }) {
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
    }

    private enum Step: Sendable {
        case wake
        case flight(endpoint: String, count: Int, updates: [DeliveryUpdate], health: [Bool], lastError: String?)
    }

    private var isDraining: Bool { lock.withLock { draining } }

    public func run() async throws {
        try queue.releaseInFlight()
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.lock.withLock { self.draining = true }
            self.wake.signal()
        }
    }

    private func loop() async {
        var breakers: [String: CircuitBreaker] = [:]
        for t in targets {
            breakers[t.name] = CircuitBreaker(threshold: settings.breakerThreshold, initialCooldown: settings.breakerCooldown,
                                              maxCooldown: settings.breakerMaxCooldown)
        }
        var inFlight: [String: Int] = [:]
        var total = 0
        var wakerRunning = false
        var updates: [DeliveryUpdate] = []
        var errors: [String: String] = [:]
        await withTaskGroup(of: Step.self) { group in
            while true {
                onLoop()
                let draining = isDraining
                let t = now()
                let settings = self.settings  // one snapshot per cycle (a reload swaps it)
                // One transaction per cycle: record what finished, claim what may start.
                var plan: [(target: DeliveryTarget, limit: Int, probing: Bool)] = []
                if !draining {
                    var room = settings.concurrency - total
                    for target in targets where room > 0 {
                        if breakers[target.name] == nil {
                            breakers[target.name] = CircuitBreaker(threshold: settings.breakerThreshold,
                                                                   initialCooldown: settings.breakerCooldown,
                                                                   maxCooldown: settings.breakerMaxCooldown)
                        }
                        var limit = min(target.maxInFlight - inFlight[target.name, default: 0], room, settings.claimBatch)
                        var probing = false
                        if let allowance = breakers[target.name]?.allowance(now: t) {
                            probing = allowance == 1
                            limit = min(limit, allowance)
                        }
                        guard limit > 0 else { continue }
                        plan.append((target, limit, probing))
                        room -= limit
                    }
                }
                var claimed: [String: [OutboxMessage]] = [:]
                if !plan.isEmpty || !updates.isEmpty || !errors.isEmpty {
                    do {
                        claimed = try queue.exchange(record: updates, endpointErrors: errors,
                                                     claim: plan.map { ($0.target.name, $0.limit) }, now: t,
                                                     leaseUntil: t + settings.timeout + .seconds(30))
                        updates.removeAll(keepingCapacity: true)
                        errors.removeAll()
                    } catch {
                        // Leases expire and unrecorded messages are sent again, with the same ids.
                        logger.error("store_error", metadata: ["action": "delivery outcomes not recorded; retrying", "error": "\(error)"])
                    }
                }
                for (target, _, probing) in plan {
                    let messages = claimed[target.name] ?? []
                    if probing {
                        if messages.isEmpty { breakers[target.name]?.probeUnused(now: t) } else { logBreaker(target.name, .halfOpen, breakers[target.name]!) }
                    }
                    var send: [OutboxMessage] = []
                    for m in messages {
                        if let quiet = target.quietHours, m.isCustomerMessage,
                           let until = quiet.end(after: t, offsetSeconds: offset(m.zone, at: t)) {
                            updates.append(.postpone(rowID: m.rowID, until: until))
                            logger.info("quiet_hours", metadata: ["webhook_id": "\(m.webhookID)", "endpoint": "\(target.name)",
                                                                  "type": "\(m.type)", "order": "\(m.orderKey)", "until": "\(until)"])
                        } else {
                            send.append(m)
                        }
                    }
                    guard !send.isEmpty else { continue }
                    inFlight[target.name, default: 0] += send.count
                    total += send.count
                    group.addTask { await self.fly(send, to: target) }
                }
                if !updates.isEmpty, total == 0 {
                    continue  // postponements to record, nothing else to wait for
                }
                if !wakerRunning && !draining {
                    let wait = nextWait(breakers)
                    let wake = self.wake
                    group.addTask {
                        await wake.wait(timeout: wait)
                        return .wake
                    }
                    wakerRunning = true
                }
                if draining && total == 0 && !wakerRunning {
                    if !updates.isEmpty { try? queue.record(updates, endpointErrors: errors) }
                    break
                }
                guard let step = await group.next() else { break }
                switch step {
                case .wake:
                    wakerRunning = false
                case .flight(let endpoint, let count, let flightUpdates, let health, let lastError):
                    total -= count
                    inFlight[endpoint, default: 0] -= count
                    updates.append(contentsOf: flightUpdates)
                    if let lastError { errors[endpoint] = lastError }
                    var retried = false
                    for u in flightUpdates { if case .retry = u { retried = true } }
                    // Re-arm the timer when a retry may now be due sooner than it was set for.
                    if retried, wakerRunning { wake.signal() }
                    let t = now()
                    for failed in health {
                        if let state = breakers[endpoint]?.record(failure: failed, now: t) {
                            logBreaker(endpoint, state, breakers[endpoint]!)
                        }
                    }
                }
            }
        }
    }

    /// Sends a batch of messages to one endpoint at once; returns their outcomes.
    private func fly(_ messages: [OutboxMessage], to target: DeliveryTarget) async -> Step {
        let settings = self.settings
        let results = await withTaskGroup(of: (Int, HTTPResult, Int64).self) { group in
            for (i, m) in messages.enumerated() {
                group.addTask {
                    let ts = self.now().milliseconds / 1000
                    let signature = target.signer.signature(id: m.webhookID, timestamp: ts, body: m.body)
                    let r = await self.client.post(HTTPPost(
                        url: target.url,
                        headers: ["content-type: application/json", "webhook-id: \(m.webhookID)", "webhook-timestamp: \(ts)",
                                  "webhook-signature: \(signature)"],
                        body: m.body, timeout: settings.timeout.duration))
                    return (i, r, ts)
                }
            }
            var out = [(HTTPResult, Int64)?](repeating: nil, count: messages.count)
            for await (i, r, ts) in group { out[i] = (r, ts) }
            return out.map { $0! }
        }
        var updates: [DeliveryUpdate] = []
        var health: [Bool] = []
        var lastError: String? = nil
        let t = now()
        for (m, (r, _)) in zip(messages, results) {
            let outcome = Outcome.classify(r)
            onResult(target.name, outcome, r.elapsed)
            health.append(outcome.isFailure)
            let attempt = m.attempts + 1
            var meta: Logger.Metadata = ["order": "\(m.orderKey)", "webhook_id": "\(m.webhookID)", "endpoint": "\(target.name)",
                                         "type": "\(m.type)", "attempt": "\(attempt)", "ms": "\(r.elapsed.milliseconds)"]
            if r.status > 0 { meta["status"] = "\(r.status)" }
            switch outcome {
            case .delivered(let status):
                updates.append(.delivered(rowID: m.rowID, at: t, status: status))
                logger.info("delivered", metadata: meta)
            case .retry(let reason, let after):
                let error = describe(reason, r)
                lastError = error
                let next = t + settings.retry.delay(afterAttempt: attempt, retryAfter: after, jitter: jitter())
                if settings.retry.isExhausted(attempts: attempt, created: m.createdAt, next: next) {
                    updates.append(.dead(rowID: m.rowID, error: error))
                    meta["reason"] = "\(reason)"
                    meta["detail"] = "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"); requeue with backorderd dead-letters requeue \(m.webhookID)"
                    logger.error("dead_letter", metadata: meta)
                } else {
                    updates.append(.retry(rowID: m.rowID, next: next, error: error))
                    meta["reason"] = "\(reason)"
                    meta["next"] = "\(next)"
                    logger.warning("retry_scheduled", metadata: meta)
                }
            case .permanent(let reason):
                let error = describe(reason, r)
                lastError = error
                updates.append(.dead(rowID: m.rowID, error: error))
                meta["reason"] = "\(reason)"
                meta["detail"] = "the receiver refused it; fix the receiver, then backorderd dead-letters requeue \(m.webhookID)"
                logger.error("dead_letter", metadata: meta)
            }
        }
        return .flight(endpoint: target.name, count: messages.count, updates: updates, health: health, lastError: lastError)
    }

    private func describe(_ reason: String, _ r: HTTPResult) -> String {
        if r.curlCode != 0 { return "\(reason): \(r.curlError)" }
        return "\(reason): HTTP \(r.status)"
    }

    private func nextWait(_ breakers: [String: CircuitBreaker]) -> Duration {
        var wait: Duration = .seconds(1)
        let t = now()
        if let due = try? queue.nextDue() {
            wait = min(wait, .milliseconds(max(0, (due - t).milliseconds)))
        }
        for b in breakers.values {
            if let until = b.openUntil, b.state == .open { wait = min(wait, .milliseconds(max(0, (until - t).milliseconds))) }
        }
        return max(wait, .milliseconds(1))
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
