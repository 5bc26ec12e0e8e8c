import ArgumentParser
import Daemon
import Foundation
import Store

/// `backorderd run`: the daemon, in the foreground.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon in the foreground.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let logger = Logs.bootstrap()
        do {
            try await Daemon.run(config: config, logger: logger)
        } catch {
            logger.critical("fatal", metadata: ["error": "\(error)"])
            // A state the operator must restore or reset: a restart would fail the same way.
            throw error is StateRefusal ? ExitCode(Daemon.exitConfig) : ExitCode.failure
        }
    }
}
