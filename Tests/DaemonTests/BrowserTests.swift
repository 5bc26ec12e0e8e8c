import Foundation
import TestSupport
import Testing

/// The status page in a real browser: Debian's chromium, headless, loads `/` and
/// `/orders/O-1` of a running daemon, and the test reads the DOM it rendered.
/// `scripts/test.sh` installs chromium (`scripts/deps.sh --test`); set
/// `BACKORDERD_CHROMIUM` to use another binary.
@Suite struct BrowserTests {
    static var chromium: String? {
        if let path = ProcessInfo.processInfo.environment["BACKORDERD_CHROMIUM"] { return path }
        return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The DOM chromium rendered for `url` (`--dump-dom`, after the page loaded).
    static func dom(_ url: String, width: Int = 1200) async throws -> String {
        let browser = try #require(chromium, "no chromium: run scripts/deps.sh --test (apt-get install chromium) or set BACKORDERD_CHROMIUM")
        let profile = TempDirectory()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                       "--window-size=\(width),900", "--dump-dom", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        await p.exited()
        #expect(p.terminationStatus == 0, "chromium exited \(p.terminationStatus)")
        return String(decoding: data, as: UTF8.self)
    }

    /// The text of each cell of a table's body rows, tags stripped.
    static func cells(_ id: String, in dom: String) -> [[String]] {
        StatusPageTests.rows(id, in: dom).map { row in
            row.components(separatedBy: "<td").dropFirst().map { cell in
                let inner = cell[(cell.firstIndex(of: ">").map { cell.index(after: $0) } ?? cell.startIndex)...]
                let text = String(inner).replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression)
                return text.replacingOccurrences(of: "&amp;", with: "&").trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
    }

    @Test func chromiumRendersTheOverviewAndAnOrder() async throws {
        let root = TempDirectory()
        let port = refusedPort()
        let base = "http://127.0.0.1:\(port)"
        let (_, receiver) = try await SupportCommandsTests.story(root, extra: "[http]\nlisten = \"127.0.0.1:\(port)\"") { _ in
            let front = try await Self.dom(base + "/")
            #expect(front.contains("<title>Overview · backorderd</title>"))
            let endpoints = Self.cells("endpoints", in: front)
            #expect(endpoints.map { $0.first } == ["email", "sms", "staff"], "\(endpoints)")
            // columns: endpoint, delivered 1h, failed 1h, pending, in flight, oldest pending, dead, breaker, …
            #expect(endpoints.map { $0[3] } == ["1", "0", "0"], "pending per endpoint")
            #expect(endpoints.map { $0[6] } == ["0", "2", "1"], "dead per endpoint")
            #expect(front.contains("<b>3</b>dead letters") && front.contains("<b>1</b>pending"), "the queue's tiles")

            let order = try await Self.dom(base + "/orders/O-1", width: 390)
            let lines = Self.cells("lines", in: order)
            #expect(lines.count == 1 && Array(lines[0].prefix(5)) == ["1", "ABC", "default", "20", "ready"], "\(lines)")
            let messages = Self.cells("messages", in: order)
            let states = Set(messages.map { "\($0[1]) \($0[2]) \($0[3])" })
            #expect(states == ["backorder.delayed email superseded", "backorder.delayed sms dead", "backorder.ready sms dead",
                               "backorder.ready email pending"], "\(states)")
            #expect(order.contains("a***@example.com") && !order.contains("ana@example.com"))
        }
        await receiver.stop()
    }
}
