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
