import ArgumentParser
import BackorderCore
import Daemon
import Foundation
import Store

/// `backorderd reset-state`: starts afresh on purpose, when a lost or damaged state is
/// not to be restored from a backup.
struct ResetStateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-state",
        abstract: "Set the state aside so that the next start begins empty.",
        discussion: """
            Renames backorderd.sqlite (with its -wal and -shm files) and backorderd.state-id in \
            state.directory with a suffix naming the time, and changes nothing else. The next \
            start makes a new state and reads every change file still in the inbox again: the \
            messages they cause are sent again (the same news keeps its webhook-id, so \
            receivers that drop ids they have seen drop most of them). Prefer restoring a \
            backup. Refused while a daemon runs on the directory.
            """)

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Do it (without it, only say what would be done).")
    var yes = false

    func run() throws {
        let config = try options.load()
        if case .postgres(let pg) = config.backend {
            // Not done for a database: dropping a shop's tables is for its DBA, on purpose.
            throw ValidationError("the state is in \(pg.url.description), not in a file: to start afresh, drop and create that database "
                                  + "(or restore it from your backup), then delete \(config.stateDirectory)/backorderd.state-id")
        }
        let directory = config.stateDirectory
        let suffix = "set-aside-" + RFC3339.format(Instant(seconds: Int64(Date().timeIntervalSince1970))).replacingOccurrences(of: ":", with: "")
        guard yes else {
            print("would move the state in \(directory) to \(directory)/\(suffix)/; the next start reads every file in \(config.inbox.directory) again and sends its messages again")
            print("run again with --yes to do it")
            return
        }
        let lock: StateLock
        do {
            lock = try StateLock(directory: directory)
        } catch {
            FileHandle.standardError.write(Data("backorderd: \(error)\n".utf8))
            throw ExitCode.failure
        }
        defer { withExtendedLifetime(lock) {} }
        let moved = try Store.setAside(directory, suffix: suffix)
        if moved.isEmpty {
            print("no state in \(directory): nothing to set aside")
        } else {
            for m in moved { print("set aside: \(m)") }
            print("the next start begins with an empty state and reads every file in \(config.inbox.directory) again")
        }
    }
}
