@testable import Daemon
import Foundation
import Logging
import TestSupport
import Testing

@Suite struct LogfmtHandlerTests {
    func logger(_ lines: LogLines, metadata: Logger.Metadata = [:]) -> Logger {
        var handler = LogfmtHandler(label: "t", level: .info) { lines.append($0) }
        handler.metadata = metadata
        return Logger(label: "t") { _ in handler }
    }

    @Test func idsComeFirstInAFixedOrderThenTheRestAlphabetically() {
        let lines = LogLines()
        logger(lines).info("delivered", metadata: ["ms": "3", "attempt": "1", "type": "backorder.ready", "endpoint": "email",
                                                   "webhook_id": "msg_1", "order": "O-1", "status": "204", "sku": "S-1"])
        #expect(lines.all == ["level=info event=delivered order=O-1 sku=S-1 webhook_id=msg_1 endpoint=email type=backorder.ready attempt=1 ms=3 status=204\n"])
    }

    @Test func handlerMetadataMergesAndTheEventWins() {
        let lines = LogLines()
        logger(lines, metadata: ["zone": "a", "file": "x.csv"]).warning("skipped", metadata: ["zone": "b"])
        #expect(lines.all == ["level=warning event=skipped file=x.csv zone=b\n"])
    }

    @Test(arguments: [
        ("plain-id_1.2", "plain-id_1.2"),
        ("two words", "\"two words\""),
        ("a=b", "\"a=b\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("", "\"\""),
        ("Zürich", "Zürich"),
        // Terminal escapes from a change file or a file name never reach the log raw.
        ("O\u{1B}]0;pwned\u{07}\u{1B}[2J", "\"O\\x1b]0;pwned\\x07\\x1b[2J\""),
        ("\u{1B}[2J", "\"\\x1b[2J\""),
        ("a\u{7F}b\u{85}c", "\"a\\x7fb\\x85c\""),
        ("evil\u{202E}txt", "\"evil\\u202etxt\""),
        ("nul\u{0}", "\"nul\\x00\""),
    ])
    func valuesAreQuotedOnlyWhenTheyMustBe(value: String, expected: String) {
        #expect(LogfmtHandler.quote(value) == expected)
    }

    @Test func contactDetailsAreMaskedAndSecretsNeverPrinted() {
        let lines = LogLines()
        logger(lines).info("x", metadata: ["email": "ann@example.com", "customer_phone": "+15551234567",
                                           "secret": "whsec_abc", "api_token": "t0k3n", "order": "O-1"])
        let line = lines.all.joined()
        #expect(line == "level=info event=x order=O-1 api_token=[redacted] customer_phone=+1******4567 email=a***@example.com secret=[redacted]\n")
    }

    @Test func linesLoggedInABatchGoOutInOneWriteInOrder() {
        let log = Logger(label: "t") { _ in LogfmtHandler(label: "t", level: .info, output: LogfmtHandler.stderr) }
        var writes: [String] = []
        LogfmtHandler.batched({
            log.info("delivered", metadata: ["order": "O-1"])
            log.debug("hidden")
            log.warning("retry_scheduled", metadata: ["order": "O-2"])
        }, write: { writes.append($0) })
        #expect(writes == ["level=info event=delivered order=O-1\nlevel=warning event=retry_scheduled order=O-2\n"])
        LogfmtHandler.batched({}, write: { writes.append($0) })
        #expect(writes.count == 1, "an empty batch writes nothing")
    }

    @Test func noControlCharacterOfAnyValueOrKeyReachesTheLine() {
        let lines = LogLines()
        var hostile = ""
        for v in 0..<0x20 { hostile.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        hostile += "\u{7F}\u{9B}\u{2028}"
        logger(lines).warning("rejected", metadata: ["file": "\(hostile).jsonl", "reason": "\(hostile)", "order": "\(hostile)"])
        let line = lines.all.joined()
        let body = line.dropLast()  // the line's own newline
        #expect(!body.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" }, "\(line)")
        #expect(line.hasPrefix("level=warning event=rejected order=\"\\x00\\x01"))
    }
}
