import BackorderCore
import Delivery
import Foundation
import Inbox
import Engine
import Logging
import PostgresStore
import ServiceLifecycle
import Store

/// The composition root: opens the state, builds the services and runs them in one
/// `ServiceGroup` until SIGTERM or SIGINT.
public enum Daemon {
    public static let version = "0.2.0"

    /// Exit code for a configuration that cannot be used (EX_CONFIG), so systemd's
    /// `RestartPreventExitStatus=78` stops a restart loop.
    public static let exitConfig: Int32 = 78

    public static func run(config: Config, logger: Logger) async throws {
        umask(0o077)
        HeapTrim.configure()
        for w in config.warnings { logger.warning("config_warning", metadata: ["detail": "\(w)"]) }
        try ensureInbox(config.inbox.directory)
        let lock = try StateLock(directory: config.stateDirectory)
        defer { withExtendedLifetime(lock) {} }
        let decisionRules = try rules(config)  // templates first: a broken one fails before the state is touched
        let store = try openStore(config, logger: logger)
        let engine = Engine(store: store, rules: decisionRules, checkpoints: config.checkpoints, logger: logger)
        let loading = ContinuousClock.now
        let loaded: (positions: Int, lines: Int, restocks: Int)
        do {
            loaded = try engine.loadState()
        } catch {
            throw (store as? Store)?.refusalIfCorrupt(error) ?? error
        }
        logger.info("state_loaded", metadata: ["positions": "\(loaded.positions)", "lines": "\(loaded.lines)",
                                               "purchase_orders": "\(loaded.restocks)",
                                               "ms": "\((ContinuousClock.now - loading).milliseconds)"])
        let wake = WakeSignal()
        let dispatchWake = WakeSignal()
        let metrics = DaemonMetrics()
        // Each checkpoint makes messages visible: wake the dispatcher, and the clock (its
        // next deadline may have moved).
        engine.onCheckpoint = { _, decided in
            metrics.decided(decided)
            wake.signal()
            dispatchWake.signal()
        }
        let inbox = try Inbox(settings: config.inbox, sink: MeteredSink(engine: engine, metrics: metrics), decoder: ZoneRules.decoder(timezone: config.policy.timezone),
                              logger: logger, now: { Instant.now() })
        let client = CurlClient(userAgent: "backorderd/\(version)", connectTimeout: min(.seconds(5), config.delivery.timeout.duration))
        defer { client.shutdown() }
        let deliveries = DeliveryCounters()
        let window = DeliveryWindow()
        let dispatcher = Dispatcher(queue: store, client: client, targets: try targets(config), settings: dispatchSettings(config),
                                    wake: dispatchWake, logger: logger, now: { Instant.now() },
                                    onBreaker: { endpoint, state in try? store.setBreaker(endpoint: endpoint, state: state.rawValue, at: Instant.now()) },
                                    onResult: { endpoint, outcome, elapsed in
                                        deliveries.count(outcome)
                                        window.record(endpoint: endpoint, outcome: outcome, at: Instant.now())
                                        metrics.delivery(endpoint: endpoint, outcome: outcome.label, elapsed: elapsed)
                                    },
                                    // a line per delivery: each batch of outcomes goes out in one write
                                    batchLogs: { LogfmtHandler.batched($0) })
        let notifier = SystemdNotifier()
        let ingestBeat = Heartbeat("ingest")
        let dispatchBeat = Heartbeat("dispatch")
        inbox.onLoop = { ingestBeat.beat() }
        dispatcher.onLoop = { dispatchBeat.beat() }
        let status: @Sendable () -> String = {
            let c = inbox.counters
            let d = deliveries.snapshot
            return "records=\(c.records) rejected=\(c.rejected) delivered=\(d.delivered) retried=\(d.retried) dead=\(d.dead)"
        }
        let started = loading  // READY counts loading the state
        let caughtUp = Gate()
        let ingest = IngestService(inbox: inbox, logger: logger, caughtUp: {
            caughtUp.open()
            let c = inbox.counters
            logger.info("ready", metadata: ["records": "\(c.records)", "rejected": "\(c.rejected)",
                                            "ms": "\((ContinuousClock.now - started).milliseconds)"])
            notifier.notify("READY=1\nSTATUS=" + status())
        })
        let notify = NotifyService(notifier: notifier, hearts: [ingestBeat, dispatchBeat],
                                   interval: SystemdNotifier.watchdogInterval(), logger: logger, status: status)
        logger.info("starting", metadata: ["version": "\(version)", "inbox": "\(config.inbox.directory)",
                                           "state": "\(stateDescription(config))", "config": "\(config.path)"])
        let removed = RemovedEndpointService(store: store, configured: { Set(engine.rules.subscriptions.map(\.endpoint)) }, grace: config.delivery.removedEndpointGrace, logger: logger,
                                             now: { Instant.now() })
        let group = ServiceGroup(configuration: .init(
            // Shut down in reverse: ingest stops first, the dispatcher last, after its requests finish.
            services: [.init(service: dispatcher),
                       .init(service: ClockService(engine: engine, wake: wake, logger: logger, now: { Instant.now() },
                                                   onNotices: { _ in },  // counted and signalled by the checkpoint
                                                   startAfter: caughtUp)),
                       .init(service: ingest),
                       .init(service: notify),
                       .init(service: ReloadService(path: config.path, notifier: notifier, logger: logger) { new in
                           let restart = try reload(new, running: config, engine: engine, dispatcher: dispatcher)
                           removed.pass()  // an endpoint renamed or removed: said now, not within the minute
                           return restart
                       })]
                + [.init(service: PeriodicService(every: RemovedEndpointService.period) { removed.pass() })]
                + (config.retainDelivered.map { keep in
                    let retention = RetentionService(store: store, keep: keep, logger: logger, now: { Instant.now() })
                    return [.init(service: PeriodicService(every: RetentionService.period) { retention.pass() })]
                } ?? [])
                + listeners(config, store: store, metrics: metrics, deliveries: window, removed: removed, logger: logger),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "backorderd.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await group.run()
        let c = inbox.counters
        logger.info("stopped", metadata: ["records": "\(c.records)", "rejected": "\(c.rejected)"])
    }

    /// The HTTP listeners the configuration asks for (`[metrics]`, `[http]`), and the
    /// gauge refresher behind `/metrics` when either serves it.
    static func listeners(_ config: Config, store: any OutboxStore, metrics: DaemonMetrics, deliveries: DeliveryWindow,
                          removed: RemovedEndpointService, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let names = config.endpoints.map(\.name)
        if let listen = config.metricsListen {
            services.append(.init(service: HTTPService(listen: listen, handler: MetricsHandler(registry: metrics.registry), logger: logger,
                                                       event: "metrics")))
        }
        if let http = config.http {
            let configOption = config.path == ConfigLoader.defaultPath ? "" : " --config " + StatusPages.shellQuote(config.path)
            let handler = StatusHandler(store: store, deliveries: deliveries, registry: metrics.registry, token: http.token, endpoints: names,
                                        inboxDirectory: config.inbox.directory, configOption: configOption, version: version, now: { Instant.now() },
                                        stranded: { removed.stranded }, removedGrace: config.delivery.removedEndpointGrace)
            services.append(.init(service: HTTPService(listen: http.listen, handler: handler, logger: logger, event: "http")))
        }
        if !services.isEmpty { services.append(.init(service: MetricsService(metrics: metrics, store: store, endpoints: names))) }
        return services
    }

    /// Opens the state `config` names — SQLite in the state directory, or PostgreSQL —
    /// with dates placed in `policy.timezone`. With `migrates: false` (the support
    /// commands) a state at an older schema is refused instead of brought up to date.
    public static func openStore(_ config: Config, migrates: Bool = true, logger: Logger) throws -> any Backend {
        switch config.backend {
        case .sqlite:
            return try Store(directory: config.stateDirectory, calendar: config.policy.decision.calendar, migrates: migrates, logger: logger)
        case .postgres(let pg):
            let store = try PostgresStore(url: pg.url, password: pg.password, node: pg.node, migrates: migrates,
                                          calendar: config.policy.decision.calendar, logger: logger)
            // The host's state directory remembers which state it used (a database
            // replaced by an empty one would otherwise re-send everything the inbox holds).
            // The support commands only read: they may run as another user.
            if migrates { try Store.pin(stateID: try store.stateID(), in: config.stateDirectory, holder: "the database " + pg.url.description) }
            return store
        }
    }

    /// Where the state is, for the `starting` line and messages.
    public static func stateDescription(_ config: Config) -> String {
        switch config.backend {
        case .sqlite: config.stateDirectory
        case .postgres(let pg): pg.url.description
        }
    }

    /// The decision policy, templates and subscriptions of `config`.
    public static func rules(_ config: Config) throws -> Engine.Rules {
        Engine.Rules(decider: Decider(policy: config.policy.decision),
                    grouper: Grouper(cancelLink: config.cancelLink),
                    renderer: try TemplateRenderer(directory: config.templatesDirectory, defaultTimeZone: config.policy.timezone),
                    subscriptions: config.endpoints.map { Subscription(endpoint: $0.name, events: Set($0.events)) })
    }

    /// Applies a reloaded configuration to the running engine and dispatcher; returns
    /// the keys that changed but need a restart.
    static func reload(_ new: Config, running old: Config, engine: Engine, dispatcher: Dispatcher) throws -> [String] {
        // policy.timezone orders the waiting lines in memory and reads the inbox's dates:
        // it changes at the next start, with the state loaded under it.
        var effective = new
        effective.policy.timezone = old.policy.timezone
        engine.update(rules: try rules(effective))
        dispatcher.update(targets: try targets(effective), settings: dispatchSettings(effective))
        var restart: [String] = []
        if new.policy.timezone != old.policy.timezone { restart.append("policy.timezone") }
        if new.inbox != old.inbox { restart.append("inbox") }
        if new.stateDirectory != old.stateDirectory { restart.append("state.directory") }
        switch (old.backend, new.backend) {
        case (.postgres(let a), .postgres(let b)):
            if a.url != b.url { restart.append("state.url") }
            if a.password != b.password { restart.append("state.password") }
            if a.node != b.node { restart.append("state.node") }
        case (.sqlite, .sqlite): break
        default: restart.append("state.backend")
        }
        if new.metricsListen != old.metricsListen { restart.append("metrics.listen") }
        if new.http != old.http { restart.append("http") }
        return restart
    }

    static func targets(_ config: Config) throws -> [DeliveryTarget] {
        config.endpoints.map { e in
            DeliveryTarget(name: e.name, url: e.url, signer: WebhookSigner(keys: e.secrets.map(\.key)), quietHours: e.quietHours,
                           maxInFlight: config.inFlightLimit(e))
        }
    }

    static func dispatchSettings(_ config: Config) -> DispatchSettings {
        let d = config.delivery
        return DispatchSettings(concurrency: d.concurrency, timeout: d.timeout,
                                retry: RetryPolicy(initialBackoff: d.initialBackoff, maxBackoff: d.maxBackoff,
                                                   maxAttempts: d.maxAttempts, maxAge: d.maxAge),
                                defaultTimeZone: config.policy.timezone)
    }

    static func ensureInbox(_ dir: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DaemonError("inbox.directory \(dir) is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw DaemonError("cannot create inbox.directory \(dir): \(error.localizedDescription)")
        }
    }
}

/// Delivery outcomes since start, for `STATUS=`.
final class DeliveryCounters: @unchecked Sendable {
    struct Snapshot { var delivered = 0, retried = 0, dead = 0 }
    private let lock = Lock()
    private var s = Snapshot()

    func count(_ o: Outcome) {
        lock.withLock {
            switch o {
            case .delivered: s.delivered += 1
            case .retry: s.retried += 1
            case .permanent: s.dead += 1
            }
        }
    }

    var snapshot: Snapshot { lock.withLock { s } }
}

extension Outcome {
    /// A stable label for metrics: delivered, retry or dead.
    var label: String {
        switch self {
        case .delivered: "delivered"
        case .retry: "retry"
        case .permanent: "dead"
        }
    }
}

/// A start-up failure worded for the operator.
public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

