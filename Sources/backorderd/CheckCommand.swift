import ArgumentParser
import Daemon
import Foundation
import Logging
import PostgresStore

/// `backorderd check`: validates the configuration and says what to fix; with
/// `--connect`, also reaches the PostgreSQL server the configuration names.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate the configuration.",
        discussion: "With --connect and backend = \"postgres\", also connect to the database and say what is wrong, if anything.")

    @OptionGroup var options: ConfigOption
    @Flag(help: "Connect to the state's PostgreSQL server (backend = \"postgres\").") var connect = false

    func run() async throws {
        let config = try options.load()
        for w in config.warnings { print("warning: \(w)") }
        print("configuration \(config.path) is valid: inbox \(config.inbox.directory), state \(Daemon.stateDescription(config)), \(config.endpoints.count) endpoint\(config.endpoints.count == 1 ? "" : "s")")
        guard connect, case .postgres(let pg) = config.backend else {
            if connect { print("state is SQLite in \(config.stateDirectory): nothing to connect to") }
            return
        }
        do {
            let probe = try PostgresProbe.run(url: pg.url, password: pg.password, node: pg.node)
            print("connected to \(pg.url.description) as \(pg.url.user): PostgreSQL \(probe.serverVersion), "
                  + (probe.schema == 0 ? "no backorderd tables yet (the daemon makes them at its first start)"
                                       : "backorderd schema version \(probe.schema) (this release knows \(probe.known))"))
            for problem in probe.problems { print("problem: \(problem)") }
            if !probe.problems.isEmpty { throw ExitCode(Daemon.exitConfig) }
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode(Daemon.exitConfig)
        }
    }
}
