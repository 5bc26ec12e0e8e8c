import BackorderCore
import Foundation
import GRDB
import TestSupport
import Testing

/// Messages queued for an endpoint the configuration no longer names are told, become
/// dead letters (`endpoint removed`) after the grace, and can be moved to the endpoint
/// that replaced it.
@Suite struct RemovedEndpointTests {
    @Test func aRenamedEndpointsMessagesAreToldDeadLetteredAndMoved() async throws {
        let root = TempDirectory()
        // The story leaves O-1's ready pending for "email" (its receiver refuses; retry in an hour).
        let (cfg, receiver) = try await SupportCommandsTests.story(root)
        defer { Task { await receiver.stop() } }
        #expect(try SupportCommandsTests.states(root, endpoint: "email").contains("pending"))
        // "email" renamed "mail", pointing at a receiver that takes everything.
        let mail = ScriptedReceiver(secret: SupportCommandsTests.secret)
        let mailURL = try await mail.start()
        defer { Task { await mail.stop() } }
        var text = Files.read(cfg)
        text = text.replacingOccurrences(of: "name = \"email\"\nurl = \"http://127.0.0.1:", with: "name = \"mail\"\nurl = \"\(mailURL)\"\n#")
        text = text.replacingOccurrences(of: "[delivery]\n", with: "[delivery]\nremoved_endpoint_grace = \"0s\"\n")
        try Files.write(cfg, text)
        chmod(cfg, 0o600)
        #expect(text.contains("name = \"mail\""), "\(text)")

        let log = root.file("second.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("told") { Files.read(log).contains("event=endpoint_removed endpoint=email") }
        #expect(Files.read(log).contains("waiting=1"))
        try await eventually("dead-lettered") { Files.read(log).contains("event=dead_letter endpoint=email messages=1 reason=\"endpoint removed\"") }
        #expect(try SupportCommandsTests.states(root, endpoint: "email").contains("dead"))
        let status = try await Binary.run(["status", "--config", cfg])
        #expect(status.out.contains("email: pending 0"), "\(status.out)")

        let wrong = try await Binary.run(["dead-letters", "requeue", "--endpoint", "email", "--to", "nowhere", "--config", cfg])
        #expect(wrong.code != 0 && wrong.err.contains("no endpoint of that name"), "\(wrong.err)")
        let moved = try await Binary.run(["dead-letters", "requeue", "--endpoint", "email", "--to", "mail", "--config", cfg])
        #expect(moved.code == 0, "\(moved.err)")
        #expect(moved.out.contains("to mail"), "\(moved.out)")
        try await eventually("delivered to mail") { mail.received.count == 1 }
        #expect(mail.received.first?.json["type"] as? String == "backorder.ready")
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
    }

    @Test func theStatusPageAndStatusShowAnEndpointNoLongerConfigured() async throws {
        let root = TempDirectory()
        let (cfg, receiver) = try await SupportCommandsTests.story(root)
        defer { Task { await receiver.stop() } }
        // "email" removed (its pending ready stays), the page on; the default grace.
        var text = Files.read(cfg)
        text = text.replacingOccurrences(of: "name = \"email\"\nurl = \"http://127.0.0.1:", with: "name = \"gone\"\nurl = \"http://127.0.0.1:")
        let port = refusedPort()
        text += "\n[http]\nlisten = \"127.0.0.1:\(port)\"\n"
        try Files.write(cfg, text)
        chmod(cfg, 0o600)
        let log = root.file("second.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try await eventually("told") { Files.read(log).contains("event=endpoint_removed endpoint=email") }
        try await eventually("listening") { Files.read(log).contains("event=http_listening") }
        let page = try await StatusPageTests.get("http://127.0.0.1:\(port)/")
        #expect(page.body.contains("id=\"removed-email\""), "the page says email is gone")
        #expect(page.body.contains("--endpoint email --to NEW"))
        let row = StatusPageTests.rows("endpoints", in: page.body).first { $0.contains(">email ") || $0.contains(">email<") } ?? ""
        #expect(row.contains("not configured") && row.contains("data-label=\"pending\">1<"), "\(row)")
        let status = try await Binary.run(["status", "--config", cfg])
        #expect(status.out.contains("not in the configuration"), "\(status.out)")
        kill(p.processIdentifier, SIGTERM)
        await p.exited()
    }
}
