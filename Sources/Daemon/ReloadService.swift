import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Handles `SIGHUP` (`systemctl reload`): reads the configuration again and checks it
/// whole. A bad one is logged with every problem and the running configuration is kept.
/// A good one is applied from the next batch on: policy, links, templates, endpoints and
/// delivery settings. Keys that need a restart (the inbox, the state directory,
/// metrics.listen) are named in the log when they changed.
public final class ReloadService: Service, @unchecked Sendable {
    private let path: String
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let apply: @Sendable (Config) throws -> [String]

    public init(path: String, notifier: SystemdNotifier, logger: Logger, apply: @escaping @Sendable (Config) throws -> [String]) {
        self.path = path
        self.notifier = notifier
        self.logger = logger
        self.apply = apply
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.notify("RELOADING=1")
            do {
                let config = try ConfigLoader.load(path: path)
                for w in config.warnings { logger.warning("config_warning", metadata: ["detail": "\(w)"]) }
                let restart = try apply(config)
                logger.notice("reloaded", metadata: ["config": "\(path)", "endpoints": "\(config.endpoints.map(\.name).joined(separator: ","))"])
                if !restart.isEmpty {
                    logger.warning("reload_needs_restart", metadata: ["keys": "\(restart.joined(separator: ","))",
                                                                      "detail": "these changed but apply only at the next restart"])
                }
            } catch let error as ConfigError {
                for p in error.problems {
                    logger.error("reload_refused", metadata: ["config": "\(path)", "key": "\(p.key)", "problem": "\(p.message)"])
                }
                logger.error("reload_refused", metadata: ["config": "\(path)", "detail": "kept the running configuration"])
            } catch {
                logger.error("reload_refused", metadata: ["config": "\(path)", "error": "\(error)", "detail": "kept the running configuration"])
            }
            notifier.notify("READY=1")
        }
    }
}
