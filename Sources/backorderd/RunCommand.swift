import ArgumentParser
import Daemon
import Foundation

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
            throw ExitCode.failure
        }
    }
}
