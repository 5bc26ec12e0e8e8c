import ArgumentParser
import BackorderCore
import Daemon
import Foundation
import Store

/// `backorderd dead-letters`: see, requeue or purge messages that gave up.
struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "List, requeue or purge messages that could not be delivered.",
        subcommands: [List.self, Requeue.self, Purge.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let store = try options.openStateOnly()
            let dead = try store.deadLetters()
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for d in dead { print(String(decoding: try enc.encode(d), as: UTF8.self)) }
                return
            }
            if dead.isEmpty { print("no dead letters"); return }
            for d in dead {
                print("\(d.webhookID)  \(d.endpoint)  \(d.type)  \(d.orderKey)  attempts=\(d.attempts)  made=\(d.createdAt)  last_error=\(d.lastError ?? "-")")
            }
            print("\(dead.count) dead letter\(dead.count == 1 ? "" : "s"); requeue with: backorderd dead-letters requeue ID… | --all")
        }
    }

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back in the queue, due now.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "Every dead letter.") var all = false
        @Argument(help: "Webhook ids (msg_…).") var ids: [String] = []

        func validate() throws {
            if all == !ids.isEmpty { throw ValidationError("give webhook ids, or --all") }
        }

        func run() throws {
            let store = try options.openStateOnly()
            let done = try store.requeueDeadLetters(all ? nil : ids, now: Instant.now())
            for id in done { print("requeued \(id)") }
            let missing = Set(ids).subtracting(done)
            for id in missing.sorted() { print("not a dead letter: \(id)") }
            if !missing.isEmpty { throw ExitCode(1) }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Webhook ids (msg_…).") var ids: [String]

        func run() throws {
            let store = try options.openStateOnly()
            let done = try store.purgeDeadLetters(ids)
            for id in done { print("purged \(id)") }
            let missing = Set(ids).subtracting(done)
            for id in missing.sorted() { print("not a dead letter: \(id)") }
            if !missing.isEmpty { throw ExitCode(1) }
        }
    }
}

extension ConfigOption {
    /// Opens the state directory the configuration names, for maintenance commands that
    /// work beside a running daemon.
    func openStateOnly() throws -> Store {
        let config = try load()
        do {
            return try Store(directory: config.stateDirectory)
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
