import ArgumentParser
import BackorderCore
import Daemon
import Foundation
import Logging
import Store

/// `backorderd dead-letters`: see, requeue or purge messages that gave up.
struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "List, requeue or purge messages that could not be delivered.",
        subcommands: [List.self, Requeue.self, Purge.self], defaultSubcommand: List.self)

    /// `--endpoint`, `--type`, `--since`: which dead letters a subcommand acts on.
    struct Filter: ParsableArguments {
        @Option(help: "Only this endpoint's dead letters.") var endpoint: String?
        @Option(help: "Only messages of this type (e.g. backorder.ready).") var type: String?
        @Option(help: "Only messages made at or after this time (RFC 3339).") var since: String?

        var value: DeadLetterFilter {
            get throws {
                var since: Instant? = nil
                if let text = self.since {
                    guard case .instant(let i)? = RFC3339.parse(text.utf8) else {
                        throw ValidationError("--since must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
                    }
                    since = i
                }
                return DeadLetterFilter(endpoint: endpoint, type: type, since: since)
            }
        }
    }

    static func show(_ d: DeadLetter) -> String {
        "\(d.webhookID)  \(d.endpoint)  \(d.type)  \(d.orderKey)  attempts=\(d.attempts)  made=\(d.createdAt)  last_error=\(d.lastError ?? "-")"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters.")
        @OptionGroup var options: ConfigOption
        @OptionGroup var filter: Filter
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let store = try options.openStateOnly()
            let dead = try store.deadLetters(matching: try filter.value)
            if json {
                for d in dead { print(String(decoding: try JSONOutput.encoder.encode(d), as: UTF8.self)) }
                return
            }
            if dead.isEmpty { print("no dead letters"); return }
            for d in dead { print(DeadLettersCommand.show(d)) }
            print("\(dead.count) dead letter\(dead.count == 1 ? "" : "s"); requeue with: backorderd dead-letters requeue ID… | --all | --endpoint NAME")
        }
    }

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back in the queue, due now: by webhook id, every one (--all), or those a filter matches.")
        @OptionGroup var options: ConfigOption
        @OptionGroup var filter: Filter
        @Flag(help: "Every dead letter (with a filter: every one it matches).") var all = false
        @Option(help: "Move them to this endpoint (one that replaced a removed or renamed one).") var to: String?
        @Argument(help: "Webhook ids (msg_…).") var ids: [String] = []

        func validate() throws {
            let filtered = filter.endpoint != nil || filter.type != nil || filter.since != nil
            if !ids.isEmpty && all { throw ValidationError("give webhook ids or --all, not both") }
            if ids.isEmpty && !all && !filtered { throw ValidationError("give webhook ids, --all, or a filter (--endpoint, --type, --since)") }
        }

        func run() throws {
            if let to, !(try options.load()).endpoints.contains(where: { $0.name == to }) {
                throw ValidationError("--to \(to): the configuration has no endpoint of that name")
            }
            let store = try options.openStateOnly()
            let done = try store.requeueDeadLetters(ids.isEmpty ? nil : ids, matching: try filter.value, now: Instant.now(), to: to)
            for d in done { print("requeued \(d.webhookID) to \(d.endpoint)") }
            let missing = Set(ids).subtracting(done.map(\.webhookID))
            for id in missing.sorted() { print("not a dead letter\(try filter.value.isEmpty ? "" : " matching the filter"): \(id)") }
            if done.isEmpty && ids.isEmpty { print("no dead letters matched") }
            if !missing.isEmpty { throw ExitCode(1) }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good: by webhook id, or those a filter matches.")
        @OptionGroup var options: ConfigOption
        @OptionGroup var filter: Filter
        @Argument(help: "Webhook ids (msg_…).") var ids: [String] = []

        func validate() throws {
            let filtered = filter.endpoint != nil || filter.type != nil || filter.since != nil
            if ids.isEmpty && !filtered { throw ValidationError("give webhook ids, or a filter (--endpoint, --type, --since)") }
        }

        func run() throws {
            let store = try options.openStateOnly()
            let done = try store.purgeDeadLetters(ids.isEmpty ? nil : ids, matching: try filter.value)
            for d in done { print("purged \(d.webhookID) to \(d.endpoint)") }
            let missing = Set(ids).subtracting(done.map(\.webhookID))
            for id in missing.sorted() { print("not a dead letter: \(id)") }
            if !missing.isEmpty { throw ExitCode(1) }
        }
    }
}

extension ConfigOption {
    /// Opens the state the configuration names, for maintenance commands that work
    /// beside a running daemon: never made, never migrated.
    func openStateOnly() throws -> any Backend {
        let config = try load()
        if case .sqlite = config.backend, !Store.hasState(config.stateDirectory) {
            FileHandle.standardError.write(Data("backorderd: no state in \(config.stateDirectory) yet: the daemon has not run there (to restore a backup, copy it there first)\n".utf8))
            throw ExitCode.failure
        }
        do {
            return try Daemon.openStore(config, migrates: false, logger: Logger(label: "backorderd", factory: { _ in SwiftLogNoOpLogHandler() }))
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
