import BackorderCore
import Foundation
import GRDB
import Store
import TestSupport
import Testing

/// End-to-end: the built `backorderd` binary, spawned as a process.
@Suite struct BinaryTests {
    /// A configuration in `root`; `state` adds lines under `[state]` (a backend's, from `StateProbe.configLines`).
    static func config(_ root: TempDirectory, extra: String = "", state: String = "") throws -> String {
        let path = root.file("backorderd.toml")
        try Files.write(path, """
            [inbox]
            directory = "\(root.path)/inbox"
            settle = "100ms"
            \(extra)
            [state]
            directory = "\(root.path)/state"
            \(state)
            """)
        return path
    }

    @Test func checkListsEveryProblemAndExits78() async throws {
        let root = TempDirectory()
        try Files.write(root.file("bad.toml"), """
            [inbox]
            settle = "soon"
            [policy]
            allocation = "random"
            [[endpoints]]
            name = "email"
            url = "http://mailer.example.com/hook"
            secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            events = ["backorder.ready"]
            """)
        let r = try await Binary.run(["check", "--config", root.file("bad.toml")])
        #expect(r.code == 78)
        for key in ["inbox.directory", "inbox.settle", "state.directory", "policy.allocation", "endpoints[0].url"] {
            #expect(r.err.contains("- \(key):"), "\(key) missing from: \(r.err)")
        }
        #expect(!r.err.contains("MfKQ9r8"))
        let run = try await Binary.run(["run", "--config", root.file("bad.toml")])
        #expect(run.code == 78)
    }

    /// A credentials directory as systemd makes one for `LoadCredential=`.
    static func credentials(_ root: TempDirectory, _ secrets: [String: String]) throws -> String {
        let dir = root.sub("credentials")
        for (name, secret) in secrets {
            try Files.write(dir + "/" + name, secret + "\n")
            chmod(dir + "/" + name, 0o400)
        }
        return dir
    }

    @Test func checkAcceptsTheShippedExampleWithItsCredentials() async throws {
        let root = TempDirectory()
        let dir = try Self.credentials(root, ["email.secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                              "staff.secret": "whsec_c3RhZmYtYWxlcnRzLXNlY3JldC1rZXktMzI="])
        let r = try await Binary.run(["check", "--config", ConfigTests.repoFile("config/backorderd.toml")],
                               environment: ["CREDENTIALS_DIRECTORY": dir])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("is valid") && r.out.contains("2 endpoints"))
        #expect(!r.out.contains("warning"), "\(r.out)")
        // Outside systemd, without the directory, the problem says what to do.
        let bare = try await Binary.run(["check", "--config", ConfigTests.repoFile("config/backorderd.toml")],
                                  environment: ["CREDENTIALS_DIRECTORY": ""])
        #expect(bare.code == 78)
        #expect(bare.err.contains("- endpoints[0].secret_credential: $CREDENTIALS_DIRECTORY is not set"), "\(bare.err)")
        #expect(bare.err.contains("LoadCredential=email.secret:PATH"))
        // A credential that is missing or not a secret is named.
        // Replaced, not rewritten: the credential is 0400, which only root may write to.
        try FileManager.default.removeItem(atPath: dir + "/staff.secret")
        try Files.write(dir + "/staff.secret", "hunter2\n")
        let bad = try await Binary.run(["check", "--config", ConfigTests.repoFile("config/backorderd.toml")],
                                 environment: ["CREDENTIALS_DIRECTORY": dir])
        #expect(bad.code == 78)
        #expect(bad.err.contains("- endpoints[1].secret_credential: \(dir)/staff.secret holds a line that is not a whsec_… secret"), "\(bad.err)")
        #expect(!bad.err.contains("hunter2"))
    }

    @Test func checkWarnsWhenALiteralSecretIsReadableByOthers() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        try Files.write(cfg, Files.read(cfg) + "\n" + ConfigTests.endpoint + "\n")
        for (mode, warns) in [(0o644, true), (0o640, true), (0o604, true), (0o600, false), (0o400, false)] as [(mode_t, Bool)] {
            chmod(cfg, mode)
            let r = try await Binary.run(["check", "--config", cfg])
            #expect(r.code == 0, "\(r.err)")
            #expect(r.out.contains("warning: \(cfg) holds a secret and other users can read it") == warns, "mode \(String(mode, radix: 8)): \(r.out)")
            #expect(!r.out.contains("MfKQ9r8"))
        }
    }

    @Test func aCredentialSignsTheMessages() async throws {
        let secret = "whsec_c3RhZmYtYWxlcnRzLXNlY3JldC1rZXktMzI="
        let receiver = ScriptedReceiver(secret: secret)
        let url = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let root = TempDirectory()
        let cfg = try await DeliveryCrashTests.readyOrders(1, in: root, url: url, delivery: "")
        try Files.write(cfg, Files.read(cfg).replacingOccurrences(of: "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
                                                                  with: "secret_credential = \"email.secret\""))
        let dir = try Self.credentials(root, ["email.secret": secret])
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log, environment: ["CREDENTIALS_DIRECTORY": dir])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually(timeout: .seconds(20), "delivered") { !receiver.received.isEmpty }
        #expect(receiver.received.allSatisfy { $0.signatureValid }, "signed with the credential's secret")
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
    }

    @Test func runIngestsAndStopsCleanlyOnSIGTERM() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let inbox = root.sub("inbox")
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        try Files.drop(inbox + "/a.jsonl", #"{"type":"stock","sku":"S","on_hand":3}"# + "\n" + "garbage\n")
        try await eventually("applied") { Files.read(log).contains("event=rejected file=a.jsonl:2") }
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
        #expect(p.terminationStatus == 0)
        #expect(Files.read(log).contains("event=stopped records=1 rejected=1"))
        let store = try Store(directory: root.path + "/state")
        #expect(try store.position(PositionKey(sku: "S", location: "default"))?.onHand == 3)
    }
}

extension BinaryTests {
    /// The decision state lives in the running daemon's memory: a second daemon on the
    /// same state directory would decide from its own copy. It refuses to start, says
    /// which process holds the state, and the first goes on.
    @Test func aSecondDaemonOnTheSameStateRefusesToStart() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let log = root.file("daemon.log")
        let first = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        // Started and polled, not run to completion: a blocking wait would hold one of the
        // test pool's threads for as long as the binary takes to start.
        let secondLog = root.file("second.log")
        let second = try Binary.start(["run", "--config", cfg], logPath: secondLog)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await eventually("the second stops") { !second.isRunning }
        #expect(second.terminationStatus != 0)
        let err = Files.read(secondLog)
        #expect(err.contains("another backorderd (pid \(first.processIdentifier)) is running on the state directory /"), "\(err)")
        #expect(err.contains("stop it first, or give this one a state.directory of its own"))
        #expect(first.isRunning)
        // The lock file deleted under the first: the directory itself is still locked.
        try FileManager.default.removeItem(atPath: root.path + "/state/backorderd.lock")
        let afterDelete = try Binary.start(["run", "--config", cfg], logPath: root.file("after-delete.log"))
        defer { if afterDelete.isRunning { kill(afterDelete.processIdentifier, SIGKILL) } }
        try await eventually("the one after the delete stops") { !afterDelete.isRunning }
        #expect(afterDelete.terminationStatus != 0)
        #expect(Files.read(root.file("after-delete.log")).contains("is running on the state directory"))
        #expect(first.isRunning)
        try Files.drop(root.path + "/inbox/a.jsonl", #"{"type":"stock","sku":"S","on_hand":3}"# + "\n")
        let key = PositionKey(sku: "S", location: "default")
        let state = try Store(directory: root.path + "/state")
        try await eventually("applied by the first") { (try? state.position(key)?.onHand) == 3 }
        kill(first.processIdentifier, SIGKILL)  // the kernel lets go of the lock on any exit
        try await eventually("the first is gone") { !first.isRunning }
        let third = try Binary.start(["run", "--config", cfg], logPath: root.file("third.log"))
        defer { if third.isRunning { kill(third.processIdentifier, SIGKILL) } }
        try await eventually("ready after kill -9") { Files.read(root.file("third.log")).contains("event=ready") }
        kill(third.processIdentifier, SIGTERM)
        try await eventually("the third stops") { !third.isRunning }
        #expect(third.terminationStatus == 0)
    }

    @Test func checkRefusesABrokenTemplate() async throws {
        let root = TempDirectory()
        let en = root.sub("templates/en")
        try Files.write(en + "/backorder.delayed.sms.mustache", "{{#lines}}never closed")
        let cfg = try Self.config(root, extra: "") + ".t"
        try Files.write(cfg, Files.read(try Self.config(root)) + "\n[templates]\ndirectory = \"\(root.path)/templates\"\n")
        let r = try await Binary.run(["check", "--config", cfg])
        #expect(r.code == 78)
        #expect(r.err.contains("- templates: template en/backorder.delayed.sms"), "\(r.err)")
    }
}

extension BinaryTests {
    @Test func replayPrintsWhatFilesWouldCauseAndKeepsNothing() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let file = root.file("try.jsonl")
        try Files.write(file, """
            {"type":"backorder","order":"O-7","line":"1","sku":"S","qty":2,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2026-11-20","customer":{"id":"C","name":"Ana"}}
            {"type":"restock","po":"P","sku":"S","quantity":5,"expected_at":"2026-12-20"}
            {"type":"stock","sku":"T","on_hand":9}
            not json

            """)
        let a = try await Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", "--json", file])
        #expect(a.code == 0, "\(a.err)")
        let types = a.out.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String
        }
        #expect(types == ["backorder.delayed", "backorder.long_wait"], "\(a.out)")
        #expect(a.err.contains("rejected try.jsonl:4"))
        let b = try await Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", "--json", file])
        #expect(a.out == b.out, "the same input gives the same ids and bodies")
        let text = try await Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", file])
        #expect(text.out.contains("── backorder.delayed"))
        #expect(text.out.contains("nothing was sent or kept"))
        // Replay on a directory the daemon never ran in made no state there, and the
        // support commands say so rather than make one.
        #expect(!FileManager.default.fileExists(atPath: root.path + "/state/backorderd.sqlite"), "replay kept nothing")
        let status = try await Binary.run(["status", "--config", cfg, "--json"])
        #expect(status.code == 1 && status.err.contains("no state in ") && status.err.contains("/state yet"), "\(status.err)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/state/backorderd.state-id"))
    }
}

extension BinaryTests {
    /// The days of the feed reach a customer west of UTC unchanged, in the e-mail text,
    /// the SMS and the JSON body; a promise is not passed on its own morning.
    @Test func aNewYorkCustomerReadsTheDaysOfTheFeed() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let customer = #"{"id":"C","name":"Ben","email":"ben@example.com","timezone":"America/New_York"}"#
        let delay = root.file("delay.jsonl")
        try Files.write(delay, """
            {"type":"backorder","order":"O-NY","line":"1","sku":"MUG","qty":1,"ordered_at":"2026-11-25T15:00:00Z","promised_at":"2026-12-10","customer":\(customer)}
            {"type":"restock","po":"P","sku":"MUG","quantity":5,"expected_at":"2026-12-15"}

            """)
        func messages(_ now: String, _ file: String) async throws -> [[String: Any]] {
            let r = try await Binary.run(["replay", "--config", cfg, "--now", now, "--json", file])
            #expect(r.code == 0, "\(r.err)")
            return r.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        let delayed = try await messages("2026-12-01T00:00:00Z", delay)
        #expect(delayed.map { $0["type"] as? String } == ["backorder.delayed"])
        let data = try #require(delayed.first?["data"] as? [String: Any])
        let line = try #require((data["lines"] as? [[String: Any]])?.first)
        #expect(line["promised_at"] as? String == "2026-12-10")
        #expect(line["expected_at"] as? String == "2026-12-15")
        let message = try #require(data["message"] as? [String: String])
        #expect(message["text"]?.contains("now expected Tuesday, December 15, 2026 (was Thursday, December 10, 2026)") == true,
                "\(message["text"] ?? "")")
        #expect(message["sms"]?.contains("new expected date Dec 15") == true, "\(message["sms"] ?? "")")

        let overdue = root.file("overdue.jsonl")
        try Files.write(overdue, """
            {"type":"backorder","order":"O-NY","line":"1","sku":"MUG","qty":1,"ordered_at":"2026-11-25T15:00:00Z","promised_at":"2026-12-03","customer":\(customer)}

            """)
        #expect(try await messages("2026-12-03T09:00:00Z", overdue).isEmpty, "the morning of the promised day tells nothing")
        #expect(try await messages("2026-12-04T04:59:59Z", overdue).isEmpty, "3 December is not over in New York")
        let told = try await messages("2026-12-04T05:00:00Z", overdue)
        #expect(told.map { $0["type"] as? String } == ["backorder.overdue"])
        let o = try #require(told.first?["data"] as? [String: Any])
        #expect((o["lines"] as? [[String: Any]])?.first?["promised_at"] as? String == "2026-12-03")
        let text = (o["message"] as? [String: String])?["text"] ?? ""
        #expect(text.contains("(expected Thursday, December 3, 2026)"), "\(text)")
    }
}

extension BinaryTests {
    /// A state written by the release before calendar dates (Tests/Fixtures/v6-dates, with
    /// how it was made) stored every bare date as midnight UTC. Opened by this build, its
    /// lines are told the days of the feed: the New York customer whose estimate is
    /// 15 December hears nothing until that day has ended in New York.
    @Test func aStateFromTheReleaseBeforeDatesTellsTheRightDays() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/v6-dates/backorderd.sqlite").path
        try FileManager.default.createDirectory(atPath: root.path + "/state", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture, toPath: root.path + "/state/backorderd.sqlite")
        let empty = root.file("nothing.jsonl")
        try Files.write(empty, "")
        // A support command does not migrate a state beside a daemon of the old release;
        // the daemon does, under its lock, at its start.
        let early = try await Binary.run(["replay", "--config", cfg, "--now", "2026-12-10T17:00:00Z", "--json", empty])
        #expect(early.code != 0 && early.err.contains("written by an earlier release"), "\(early.err)")
        let log = root.file("daemon.log")
        let daemon = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        kill(daemon.processIdentifier, SIGTERM)
        await daemon.exited()
        func told(_ now: String) async throws -> [String: String] {
            let r = try await Binary.run(["replay", "--config", cfg, "--now", now, "--json", empty])
            #expect(r.code == 0, "\(r.err)")
            var out: [String: String] = [:]
            for line in r.out.split(separator: "\n") {
                guard let m = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let data = m["data"] as? [String: Any], let order = data["order"] as? String else { continue }
                out[order] = m["type"] as? String
            }
            return out
        }
        // Before: O-INSTANT's promise (17:00 UTC on the 10th, an instant) has passed;
        // O-MIDNIGHT was written as 2026-12-12T00:00:00Z and reads as that date (the
        // documented rule), so it passes at the end of the 12th; O-NY's 15 December is
        // not over in New York until 05:00 UTC on the 16th.
        #expect(try await told("2026-12-10T16:59:59Z") == [:])
        #expect(try await told("2026-12-10T17:00:00Z") == ["O-INSTANT": "backorder.overdue"])
        #expect(try await told("2026-12-12T23:59:59Z") == ["O-INSTANT": "backorder.overdue"])
        #expect(try await told("2026-12-16T04:59:59Z") == ["O-INSTANT": "backorder.overdue", "O-MIDNIGHT": "backorder.overdue"])
        #expect(try await told("2026-12-16T05:00:00Z")
                == ["O-INSTANT": "backorder.overdue", "O-MIDNIGHT": "backorder.overdue", "O-NY": "backorder.overdue"])
        let order = try await Binary.run(["order", "--config", cfg, "O-NY"])
        #expect(order.out.contains("2026-12-10") && !order.out.contains("2026-12-10T00:00:00Z"), "\(order.out)")
        #expect(order.out.contains("2026-12-15") && !order.out.contains("2026-12-15T00:00:00Z"), "\(order.out)")
    }
}

extension BinaryTests {
    /// A state directory that held a state refuses to start without it — missing, empty
    /// or damaged — with exit 78 (systemd's restart loop stops) and a message naming the
    /// file and the choices; `reset-state --yes` is the deliberate fresh start.
    @Test func aLostOrDamagedStateIsRefusedNotStartedAfresh() async throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let state = root.path + "/state"
        let db = state + "/backorderd.sqlite"
        let log = root.file("daemon.log")
        let first = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually("ready") { Files.read(log).contains("event=ready") }
        try Files.drop(root.path + "/inbox/a.jsonl", #"{"type":"stock","sku":"S","on_hand":3}"# + "\n")
        try await eventually("applied") { CrashTests.appliedLines(state) >= 1 }
        kill(first.processIdentifier, SIGTERM)
        try await eventually("stopped") { !first.isRunning }
        #expect(FileManager.default.fileExists(atPath: state + "/backorderd.state-id"))
        // A backup of the one file: its WAL folded in first (the daemon's last connection
        // usually does it as it closes, but not if the process ends before it lets go).
        try await DatabaseQueue(path: db).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let saved = try Data(contentsOf: URL(fileURLWithPath: db))

        func start(_ name: String) async throws -> (code: Int32, log: String) {
            let p = try Binary.start(["run", "--config", cfg], logPath: root.file(name))
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            try await eventually("\(name) stops") { !p.isRunning }
            return (p.terminationStatus, Files.read(root.file(name)))
        }
        for name in ["backorderd.sqlite", "backorderd.sqlite-wal", "backorderd.sqlite-shm"] { try? FileManager.default.removeItem(atPath: state + "/" + name) }
        let missing = try await start("missing.log")
        #expect(missing.code == 78)
        #expect(missing.log.contains("/state/backorderd.sqlite is missing"), "\(missing.log)")
        #expect(missing.log.contains("backorderd reset-state"))
        #expect(!FileManager.default.fileExists(atPath: db) || (try? Data(contentsOf: URL(fileURLWithPath: db)))?.isEmpty == true)

        try Data().write(to: URL(fileURLWithPath: db))
        let empty = try await start("empty.log")
        #expect(empty.code == 78)
        #expect(empty.log.contains("/state/backorderd.sqlite is empty"), "\(empty.log)")

        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: db))
        let damaged = try await start("damaged.log")
        #expect(damaged.code == 78)
        #expect(damaged.log.contains("/state/backorderd.sqlite is damaged"), "\(damaged.log)")

        // Tables damaged past the first page: refused too.
        var torn = saved
        if torn.count > 4096 { torn.replaceSubrange(4096..<torn.count, with: Data(repeating: 0xA5, count: torn.count - 4096)) }
        try torn.write(to: URL(fileURLWithPath: db))
        let tornRun = try await start("torn.log")
        #expect(tornRun.code == 78, "\(tornRun.log)")
        #expect(tornRun.log.contains("/state/backorderd.sqlite is damaged"), "\(tornRun.log)")

        // Another state's file: refused, with the way to take it on purpose.
        let other = TempDirectory()
        _ = try Store(directory: other.path + "/state")
        try FileManager.default.removeItem(atPath: db)
        try FileManager.default.copyItem(atPath: other.path + "/state/backorderd.sqlite", toPath: db)
        let foreign = try await start("foreign.log")
        #expect(foreign.code == 78)
        #expect(foreign.log.contains("holds another state"), "\(foreign.log)")

        // Restored from the backup (the same state): it starts, with its data.
        try saved.write(to: URL(fileURLWithPath: db))
        let restored = try await Binary.run(["status", "--config", cfg, "--json"])
        #expect(restored.code == 0, "\(restored.err)")
        #expect(restored.out.contains("a.jsonl"), "\(restored.out)")

        // Or deliberately afresh.
        try Data().write(to: URL(fileURLWithPath: db))
        let dry = try await Binary.run(["reset-state", "--config", cfg])
        #expect(dry.out.contains("run again with --yes"))
        #expect(try await start("still.log").code == 78, "without --yes nothing changed")
        let reset = try await Binary.run(["reset-state", "--config", cfg, "--yes"])
        #expect(reset.code == 0, "\(reset.err)")
        #expect(reset.out.contains("/state/set-aside-") && reset.out.contains("/backorderd.sqlite\n"), "\(reset.out)")
        let fresh = try Binary.start(["run", "--config", cfg], logPath: root.file("fresh.log"))
        defer { if fresh.isRunning { kill(fresh.processIdentifier, SIGKILL) } }
        try await eventually("fresh ready") { Files.read(root.file("fresh.log")).contains("event=ready") }
        kill(fresh.processIdentifier, SIGTERM)
        try await eventually("fresh stops") { !fresh.isRunning }
    }
}
