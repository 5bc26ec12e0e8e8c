import ArgumentParser
import BackorderCore
import Daemon
import Delivery
import Foundation
import Inbox
import Engine
import Logging
import PostgresStore
import Store

/// `backorderd replay`: what these files would cause, without sending or keeping anything.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print the messages change files would cause on top of the current state; nothing is sent or kept.")
    @OptionGroup var options: ConfigOption
    @Option(help: "Decide as of this time (RFC 3339); also runs the clock's overdue and long-wait pass at it. Default: now.")
    var now: String?
    @Flag(help: "Each message's webhook body on a line of its own.") var json = false
    @Argument(help: "Change files (.jsonl, .ndjson, .csv).") var files: [String]

    func run() throws {
        let config = try options.load()
        var at = Instant.now()
        if let now {
            guard case .instant(let i)? = RFC3339.parse(now.utf8) else {
                throw ValidationError("--now must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
            }
            at = i
        }
        let renderer = try TemplateRenderer(directory: config.templatesDirectory, defaultTimeZone: config.policy.timezone)
        // On a directory without a state (trying templates before going live), an empty
        // one of its own: replay makes nothing where the daemon will keep its state.
        var directory = config.stateDirectory
        var scratch: String? = nil
        var current: (any StateStore)? = nil
        if case .postgres = config.backend {
            do {
                current = try Daemon.openStore(config, migrates: false, logger: Logger(label: "backorderd", factory: { _ in SwiftLogNoOpLogHandler() }))
            } catch PostgresStoreError.noState {
                // Nothing decided there yet: on an empty state of its own, below.
            }
        }
        if current == nil, config.backend != .sqlite || !Store.hasState(directory) {
            var template = Array((NSTemporaryDirectory() + "/backorderd-replay-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw ValidationError("cannot make a temporary directory") }
            directory = String(cString: made)
            scratch = directory
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let store = try current ?? Store(directory: directory, calendar: config.policy.decision.calendar, migrates: scratch != nil)
        let engine = Engine(store: store, decider: Decider(policy: config.policy.decision),
                            grouper: Grouper(cancelLink: config.cancelLink), renderer: renderer,
                            subscriptions: [Subscription(endpoint: "replay", events: Set(EventType.all))])
        let reader = ChangeFileReader(decoder: ZoneRules.decoder(timezone: config.policy.timezone))
        var perFile: [[IngestBatch]] = []
        for path in files {
            var batches: [IngestBatch] = []
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var cursor = FileCursor(id: FileID(device: 0, inode: 0), name: (path as NSString).lastPathComponent)
            var header: [String]? = nil
            while true {
                let outcome = try reader.read(fd: fd, cursor: cursor, csvHeader: &header, maxLines: 10_000, flushPartial: true, now: at)
                for r in outcome.batch.rejects { FileHandle.standardError.write(Data("rejected \(r.file):\(r.line): \(r.reason)\n".utf8)) }
                if !outcome.batch.records.isEmpty { batches.append(outcome.batch) }
                if outcome.batch.cursor == cursor || !outcome.more { break }
                cursor = outcome.batch.cursor
            }
            perFile.append(batches)
        }
        let (messages, refused) = try engine.preview(perFile, tickAt: at)
        for r in refused { FileHandle.standardError.write(Data("rejected \(r.file):\(r.line): \(r.reason)\n".utf8)) }
        for m in messages {
            if json {
                print(String(decoding: m.body, as: UTF8.self))
            } else {
                print(Receiver.format(id: m.webhookID, body: Data(m.body), signatureValid: true)
                    .replacingOccurrences(of: "  signature ok", with: ""))
            }
        }
        if !json { print("\(messages.count) message\(messages.count == 1 ? "" : "s"); nothing was sent or kept") }
    }
}
