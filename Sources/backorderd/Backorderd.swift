import ArgumentParser
import Daemon
import Foundation
import Logging

/// `backorderd`: the daemon and its operator commands.
@main
struct Backorderd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backorderd",
        abstract: "Tells customers about their backordered items, and staff about their stock.",
        version: Daemon.version,
        subcommands: [RunCommand.self, CheckCommand.self, StatusCommand.self, OrderCommand.self, MessageCommand.self, ReplayCommand.self,
                      DeadLettersCommand.self, ReceiveCommand.self, ResetStateCommand.self, MigrateCommand.self])
}
