import BackorderCore
import Foundation
import Store
import TestSupport
import Testing

/// End-to-end: the built `backorderd` binary, spawned as a process.
@Suite struct BinaryTests {
    static func config(_ root: TempDirectory, extra: String = "") throws -> String {
        let path = root.file("backorderd.toml")
        try Files.write(path, """
            [inbox]
            directory = "\(root.path)/inbox"
            settle = "100ms"
            \(extra)
            [state]
            directory = "\(root.path)/state"
            """)
        return path
    }

    @Test func checkListsEveryProblemAndExits78() throws {
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
        let r = try Binary.run(["check", "--config", root.file("bad.toml")])
        #expect(r.code == 78)
        for key in ["inbox.directory", "inbox.settle", "state.directory", "policy.allocation", "endpoints[0].url"] {
            #expect(r.err.contains("- \(key):"), "\(key) missing from: \(r.err)")
        }
        #expect(!r.err.contains("MfKQ9r8"))
        let run = try Binary.run(["run", "--config", root.file("bad.toml")])
        #expect(run.code == 78)
    }

    @Test func checkAcceptsTheShippedExample() throws {
        let r = try Binary.run(["check", "--config", ConfigTests.repoFile("config/backorderd.toml")])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("is valid"))
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
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(Files.read(log).contains("event=stopped records=1 rejected=1"))
        let store = try Store(directory: root.path + "/state")
        #expect(try store.position(PositionKey(sku: "S", location: "default"))?.onHand == 3)
    }
}

extension BinaryTests {
    @Test func checkRefusesABrokenTemplate() throws {
        let root = TempDirectory()
        let en = root.sub("templates/en")
        try Files.write(en + "/backorder.delayed.sms.mustache", "{{#lines}}never closed")
        let cfg = try Self.config(root, extra: "") + ".t"
        try Files.write(cfg, Files.read(try Self.config(root)) + "\n[templates]\ndirectory = \"\(root.path)/templates\"\n")
        let r = try Binary.run(["check", "--config", cfg])
        #expect(r.code == 78)
        #expect(r.err.contains("- templates: template en/backorder.delayed.sms"), "\(r.err)")
    }
}

extension BinaryTests {
    @Test func replayPrintsWhatFilesWouldCauseAndKeepsNothing() throws {
        let root = TempDirectory()
        let cfg = try Self.config(root)
        let file = root.file("try.jsonl")
        try Files.write(file, """
            {"type":"backorder","order":"O-7","line":"1","sku":"S","qty":2,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2026-11-20","customer":{"id":"C","name":"Ana"}}
            {"type":"restock","po":"P","sku":"S","quantity":5,"expected_at":"2026-12-20"}
            {"type":"stock","sku":"T","on_hand":9}
            not json

            """)
        let a = try Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", "--json", file])
        #expect(a.code == 0, "\(a.err)")
        let types = a.out.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String
        }
        #expect(types == ["backorder.delayed", "backorder.long_wait"], "\(a.out)")
        #expect(a.err.contains("rejected try.jsonl:4"))
        let b = try Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", "--json", file])
        #expect(a.out == b.out, "the same input gives the same ids and bodies")
        let text = try Binary.run(["replay", "--config", cfg, "--now", "2026-12-01T00:00:00Z", file])
        #expect(text.out.contains("── backorder.delayed"))
        #expect(text.out.contains("nothing was sent or kept"))
        let status = try Binary.run(["status", "--config", cfg, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any])
        #expect((json["lines"] as? [String: Int])?.values.reduce(0, +) == 0, "replay changed no state")
    }
}
