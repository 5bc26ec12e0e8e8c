import ArgumentParser
import Daemon
import Foundation
import Logging

/// The `--config` option every command shares.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of the TOML configuration.")
    var config: String = ConfigLoader.defaultPath

    /// Loads the configuration or prints every problem and exits 78.
    func load() throws -> Config {
        do {
            return try ConfigLoader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode(Daemon.exitConfig)
        }
    }
}

enum Logs {
    static func bootstrap() -> Logger {
        let level = ProcessInfo.processInfo.environment["BACKORDERD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let destination = LogDestination.forProcess()  // once: one journal socket for every logger
        LoggingSystem.bootstrap { label in LogfmtHandler(label: label, level: level, destination: destination) }
        return Logger(label: "backorderd")
    }
}
