import ArgumentParser
import Daemon
import Foundation

/// `backorderd check`: validates the configuration and says what to fix.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate the configuration.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        for w in config.warnings { print("warning: \(w)") }
        print("configuration \(config.path) is valid: inbox \(config.inbox.directory), state \(config.stateDirectory), \(config.endpoints.count) endpoint\(config.endpoints.count == 1 ? "" : "s")")
    }
}
