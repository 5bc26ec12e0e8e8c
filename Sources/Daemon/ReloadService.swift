import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Handles `SIGHUP` (`systemctl reload`): reads the configuration again and checks it
/// whole. A bad one is logged with every problem and the running configuration is kept.
/// A good one is reported valid; it takes effect at the next restart (this version does
/// not swap a running configuration).
public final class ReloadService: Service, @unchecked Sendable {
    private let path: String
    private let notifier: SystemdNotifier
    private let logger: Logger

    public init(path: String, notifier: SystemdNotifier, logger: Logger) {
        self.path = path
        self.notifier = notifier
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.notify("RELOADING=1")
            do {
                let config = try ConfigLoader.load(path: path)
                for w in config.warnings { logger.warning("config_warning", metadata: ["detail": "\(w)"]) }
                logger.notice("reload_checked", metadata: ["config": "\(path)",
                                                           "detail": "the new configuration is valid; restart the service to apply it"])
            } catch {
                for p in error.problems {
                    logger.error("reload_refused", metadata: ["config": "\(path)", "key": "\(p.key)", "problem": "\(p.message)"])
                }
                logger.error("reload_refused", metadata: ["config": "\(path)", "detail": "kept the running configuration"])
            }
            notifier.notify("READY=1")
        }
    }
}
