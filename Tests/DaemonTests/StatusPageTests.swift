import BackorderCore
@testable import Daemon
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// The `[http]` status page of a running daemon, over real HTTP: every page, the
/// search, the dead-letter filters, `/metrics`, and the rules for a remote bind.
@Suite struct StatusPageTests {
    struct Page {
        var status: Int
        var url: String
        var body: String
        var headers: [String: String]
    }

    static func get(_ url: String, token: String? = nil) async throws -> Page {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
        return Page(status: http.statusCode, url: http.url?.absoluteString ?? url, body: String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// The text of the table with this id (its rows, tags left in).
    static func table(_ id: String, in body: String) -> String {
        guard let start = body.range(of: "<table id=\"\(id)\"") else { return "" }
        let rest = body[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</table>")?.upperBound ?? rest.endIndex)])
    }

    static func rows(_ id: String, in body: String) -> [String] {
        table(id, in: body).components(separatedBy: "<tr>").dropFirst(2).map { String($0) }
    }

    @Test func everyPageOfARunningDaemon() async throws {
        let root = TempDirectory()
        let port = refusedPort()
        let base = "http://127.0.0.1:\(port)"
        let (_, receiver) = try await SupportCommandsTests.story(root, extra: """
            [http]
            listen = "127.0.0.1:\(port)"
            """) { cfg in
            // The front: endpoints, the queue, files, rejects, positions.
            let front = try await Self.get(base + "/")
            #expect(front.status == 200)
            #expect(front.headers["content-type"] == "text/html; charset=utf-8")
            #expect(front.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(!front.body.contains("<script"), "no script")
            #expect(!front.body.contains("http://") && !front.body.contains("https://"), "no external asset")
            let endpoints = Self.rows("endpoints", in: front.body)
            #expect(endpoints.count == 3)
            #expect(endpoints[0].contains(">email<") && endpoints[1].contains(">sms<") && endpoints[2].contains(">staff<"))
            // email: its ready waits (the receiver refuses connections); sms: two dead; staff: one dead.
            #expect(endpoints[0].contains("data-label=\"pending\">1<"), "\(endpoints[0])")
            #expect(endpoints[1].contains("data-label=\"dead\"><a href=\"/dead-letters?endpoint=sms\">2</a>"), "\(endpoints[1])")
            #expect(endpoints[1].contains("data-label=\"last attempt\">http_410"), "what the last attempt got")
            #expect(endpoints[1].contains("data-label=\"failed 1h\"><span class=\"badge warn\">2</span>"), "\(endpoints[1])")
            #expect(front.body.contains("id=\"tile-dead\"><b>3</b>dead letters"))
            #expect(Self.rows("files", in: front.body).count == 2)
            #expect(Self.table("files", in: front.body).contains(">1.jsonl<"))
            #expect(Self.rows("positions", in: front.body).isEmpty, "nothing waits: O-1 is ready")

            // The order: its line, and its superseded and dead messages.
            let order = try await Self.get(base + "/orders/O-1")
            #expect(order.status == 200)
            let lines = Self.rows("lines", in: order.body)
            #expect(lines.count == 1 && lines[0].contains(">ABC<") && lines[0].contains(">ready<"))
            let messages = Self.rows("messages", in: order.body)
            #expect(messages.count == 4, "the delay and the ready, to email and to sms (the staff alert is the position's)")
            #expect(messages.contains { $0.contains("backorder.delayed") && $0.contains(">email<") && $0.contains(">superseded<") })
            #expect(messages.contains { $0.contains("backorder.ready") && $0.contains(">sms<") && $0.contains(">dead<") && $0.contains("http_410") })
            #expect(order.body.contains("a***@example.com") && !order.body.contains("ana@example.com"), "contact details masked")

            // Search: by customer id (a redirect to the one order), by webhook id, and nothing.
            let byCustomer = try await Self.get(base + "/orders?q=C-1")
            #expect(byCustomer.url.hasSuffix("/orders/O-1") && byCustomer.body.contains("<h1>Order O-1</h1>"))
            let first = try #require(messages.first)
            let webhook = String(first[try #require(first.range(of: "msg_[0-9a-f]+", options: .regularExpression))])
            let byWebhook = try await Self.get(base + "/orders?q=" + webhook)
            #expect(byWebhook.url.hasSuffix("/orders/O-1"))
            let nothing = try await Self.get(base + "/orders?q=%3Cscript%3E")
            #expect(nothing.status == 200 && nothing.body.contains("Nothing found for “&lt;script&gt;”"), "the query is escaped")
            let unknown = try await Self.get(base + "/orders/O-404")
            #expect(unknown.status == 404 && unknown.body.contains("No order O-404"))

            // Dead letters, filtered in the URL, each with its requeue command.
            let sms = try await Self.get(base + "/dead-letters?endpoint=sms")
            let rows = Self.rows("dead-letters", in: sms.body)
            #expect(rows.count == 2 && rows.allSatisfy { $0.contains(">sms<") })
            #expect(rows.allSatisfy { $0.contains("backorderd dead-letters requeue --config \(cfg) msg_") })
            #expect(sms.body.contains("backorderd dead-letters requeue --config \(cfg) --endpoint sms</code>"))
            let ready = try await Self.get(base + "/dead-letters?endpoint=sms&type=backorder.ready")
            #expect(Self.rows("dead-letters", in: ready.body).count == 1)
            let all = try await Self.get(base + "/dead-letters")
            #expect(Self.rows("dead-letters", in: all.body).count == 3)
            let later = try await Self.get(base + "/dead-letters?since=2100-01-01T00%3A00%3A00Z")
            #expect(Self.rows("dead-letters", in: later.body).isEmpty && later.body.contains("No dead letters match the filter"))
            let bad = try await Self.get(base + "/dead-letters?since=yesterday")
            #expect(bad.body.contains("is not an RFC 3339 time") && Self.rows("dead-letters", in: bad.body).count == 3)

            // /metrics on the same listener; a path that is not a page.
            let metrics = try await Self.get(base + "/metrics")
            #expect(metrics.status == 200 && metrics.body.contains("backorderd_deliveries_total"))
            // The queue gauges, refreshed every 5 s from the same indexed reads as the page.
            let gauges = ["backorderd_queue_depth{endpoint=\"email\"} 1.0", "backorderd_dead_letters{endpoint=\"sms\"} 2.0",
                          "backorderd_lines_waiting 0.0"]
            var text = ""
            let clock = ContinuousClock(), until = clock.now + .seconds(12)
            while clock.now < until {
                text = try await Self.get(base + "/metrics").body
                if gauges.allSatisfy(text.contains) { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(gauges.allSatisfy(text.contains), "\(text)")
            #expect(try await Self.get(base + "/nope").status == 404)
        }
        await receiver.stop()
    }

    @Test func aRemoteBindNeedsAllowRemoteAndAToken() async throws {
        let root = TempDirectory()
        let port = refusedPort()
        func check(_ http: String) async throws -> (code: Int32, out: String, err: String) {
            let cfg = try BinaryTests.config(root, extra: "")
            try Files.write(cfg, Files.read(cfg) + "\n[http]\n" + http + "\n")
            return try await Binary.run(["check", "--config", cfg])
        }
        let open = try await check("listen = \"0.0.0.0:\(port)\"")
        #expect(open.code == 78)
        #expect(open.err.contains("is not a loopback address") && open.err.contains("allow_remote = true and token_file"), "\(open.err)")
        let noToken = try await check("listen = \"0.0.0.0:\(port)\"\nallow_remote = true")
        #expect(noToken.code == 78 && noToken.err.contains("allow_remote = true needs token_file"), "\(noToken.err)")
        try Files.write(root.file("short"), "abc\n")
        let short = try await check("listen = \"0.0.0.0:\(port)\"\nallow_remote = true\ntoken_file = \"\(root.file("short"))\"")
        #expect(short.code == 78 && short.err.contains("at least 16 characters"), "\(short.err)")
        let missing = try await check("listen = \"0.0.0.0:\(port)\"\nallow_remote = true\ntoken_file = \"\(root.file("absent"))\"")
        #expect(missing.code == 78 && missing.err.contains("cannot read"), "\(missing.err)")
        let same = try await check("listen = \"127.0.0.1:\(port)\"\n[metrics]\nlisten = \"127.0.0.1:\(port)\"")
        #expect(same.code == 78 && same.err.contains("same address as metrics.listen"), "\(same.err)")

        // Remote with a token: every request, /metrics included, needs it.
        let token = "s3cr3t-token-0123456789abcdef"
        try Files.write(root.file("token"), token + "\n")
        chmod(root.file("token"), 0o600)
        let cfg = try BinaryTests.config(root, extra: "")
        try Files.write(cfg, Files.read(cfg) + "\n[http]\nlisten = \"0.0.0.0:\(port)\"\nallow_remote = true\ntoken_file = \"\(root.file("token"))\"\n")
        #expect(try await Binary.run(["check", "--config", cfg]).code == 0)
        let log = root.file("daemon.log")
        let p = try Binary.start(["run", "--config", cfg], logPath: log)
        defer { kill(p.processIdentifier, SIGKILL) }
        try await eventually("listening") { Files.read(log).contains("event=http_listening") }
        let base = "http://127.0.0.1:\(port)"
        for path in ["/", "/metrics", "/orders/O-1", "/dead-letters"] {
            let none = try await Self.get(base + path)
            #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer realm=\"backorderd\"", "\(path) without a token")
            #expect(try await Self.get(base + path, token: "wrong").status == 401, "\(path) with a wrong token")
            #expect(try await Self.get(base + path, token: token + "x").status == 401, "\(path) with a longer token")
        }
        #expect(try await Self.get(base + "/", token: token).status == 200)
        #expect(try await Self.get(base + "/metrics", token: token).status == 200)
        #expect(!Files.read(log).contains(token), "the token is never logged")
    }
}
