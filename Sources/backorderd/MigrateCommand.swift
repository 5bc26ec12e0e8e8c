import ArgumentParser
import BackorderCore
import Daemon
import Foundation
import Logging
import PostgresStore
import Store

/// `backorderd migrate --from-sqlite DIR`: copies a SQLite state into the empty
/// PostgreSQL database the configuration names.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a SQLite state into the (empty) PostgreSQL database of the configuration.",
        discussion: """
            Copies positions, order lines, purchase orders, file cursors, the outbox with its \
            history and dead letters, and delivery attempts, in one transaction, then checks \
            every table's count; keeps the state's id, so the state directory still knows it. \
            The daemon must be stopped on DIR (its lock is taken). A database that already \
            holds a state is refused. rejected.jsonl stays in DIR as it is.
            """)

    @OptionGroup var options: ConfigOption
    @Option(name: .customLong("from-sqlite"), help: "The SQLite state directory to copy from (state.directory of the old configuration).")
    var from: String

    func run() throws {
        let config = try options.load()
        guard case .postgres(let pg) = config.backend else {
            throw ValidationError("the configuration's state is SQLite: set [state] backend = \"postgres\" and url = … to migrate to PostgreSQL")
        }
        guard Store.hasState(from) else { throw ValidationError("no backorderd state in \(from)") }
        do {
            // No daemon may write the state while it is copied.
            let lock = try StateLock(directory: from)
            defer { withExtendedLifetime(lock) {} }
            let source = try Store(directory: from, calendar: config.policy.decision.calendar, migrates: false)
            let quiet = Logger(label: "backorderd", factory: { _ in SwiftLogNoOpLogHandler() })
            let target = try PostgresStore(url: pg.url, password: pg.password, node: pg.node, calendar: config.policy.decision.calendar,
                                           logger: quiet)
            let started = ContinuousClock.now
            let counts = try target.importState(stateID: try source.stateID()) { each in
                try source.export(batch: 20_000, each)
            }
            let ms = (ContinuousClock.now - started).components
            print("copied \(from) into \(pg.url.description) in \(ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000) ms; rows per table (checked):")
            for table in StateTable.all { print("  \(table.name): \(counts[table.name] ?? 0)") }
            print("state id \(try target.stateID()) kept. Start the daemon with this configuration; keep \(from) until it runs.")
        } catch let e as ValidationError {
            throw e
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
