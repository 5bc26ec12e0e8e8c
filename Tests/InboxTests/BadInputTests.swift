import BackorderCore
import Foundation
import Inbox
import Store
import TestSupport
import Testing

@Suite struct BadInputTests {
    typealias H = InboxHarness

    struct Rejected: Decodable {
        var file: String
        var line: Int
        var reason: String
        var raw: String
        var raw_base64: String?
    }

    func rejected(_ h: H) throws -> [Rejected] {
        try h.rejected.map { try JSONDecoder().decode(Rejected.self, from: Data($0.utf8)) }
    }

    static let badLines: [(String, String)] = [
        ("{not json", "invalid JSON"),
        ("[1,2,3]", "not a JSON object"),
        (#"{"type":"teleport","sku":"S"}"#, "unknown type"),
        (#"{"type":"stock","on_hand":1}"#, "missing field 'sku'"),
        (#"{"type":"stock","sku":["S"],"on_hand":1}"#, "field 'sku' must be a string"),
        (#"{"type":"restock","po":"P","sku":"S","quantity":-4,"expected_at":"2026-12-01"}"#, "'quantity' must be greater than 0"),
        (#"{"type":"backorder","order":"O","line":"1","sku":"S","qty":0,"ordered_at":"2026-11-01","promised_at":"2026-12-01","customer":{"id":"C"}}"#, "'qty' must be greater than 0"),
        (#"{"type":"stock","sku":"S","on_hand":1,"delta":2}"#, "got both"),
        (#"{"type":"restock","po":"P","sku":"S","quantity":4,"expected_at":"next week"}"#, "not an RFC 3339"),
    ]

    @Test func rejectsEachBadLineAndGoesOn() async throws {
        let h = H()
        try await h.start()
        var bytes: [UInt8] = Array(H.delta("S", 1).utf8)
        for (line, _) in Self.badLines { bytes += Array((line + "\n").utf8) }
        bytes += Array(#"{"type":"stock","sku":"N\#u{00}UL","on_hand":1}"#.utf8) + [0x0A]
        bytes += Array(#"{"type":"stock","sku":"x"#.utf8) + [0xFF, 0xFE] + Array(#"","on_hand":1}"#.utf8) + [0x0A]
        bytes += Array(#"{"type":"stock","sku":""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: 2 << 20) + Array(#"","on_hand":1}"#.utf8) + [0x0A]
        bytes += Array(H.delta("S", 1).utf8)
        try Files.write(h.path("bad.jsonl"), bytes: bytes)
        try await h.waitOnHand("S", 2)
        // Rejects are logged just after their batch commits: wait for the log too.
        try await eventually("rejects logged") { h.logs.all.filter { $0.contains("event=rejected") }.count == Self.badLines.count + 3 }
        let rows = try rejected(h)
        #expect(rows.count == Self.badLines.count + 3)
        for (i, (line, reason)) in Self.badLines.enumerated() {
            #expect(rows[i].line == i + 2)
            #expect(rows[i].file == "bad.jsonl")
            #expect(rows[i].raw == line)
            #expect(rows[i].reason.contains(reason), "line \(i + 2): \(rows[i].reason)")
            #expect(h.logs.contains("event=rejected file=bad.jsonl:\(i + 2) reason="))
        }
        let nul = rows[Self.badLines.count]
        #expect(nul.reason.contains("NUL byte"))
        let notUTF8 = rows[Self.badLines.count + 1]
        #expect(notUTF8.reason.contains("not UTF-8"))
        #expect(notUTF8.raw_base64 != nil)
        let long = rows[Self.badLines.count + 2]
        #expect(long.reason.contains("longer than"))
        #expect(long.raw.utf8.count <= ChangeFileReader.rejectedPrefixBytes)
    }

    @Test func readsCSVWithQuotedCellsAndDottedNames() async throws {
        let h = H()
        try await h.start()
        let csv = """
            type,order,line,sku,location,qty,ordered_at,promised_at,customer.id,customer.name,customer.email,on_hand
            stock,,,S,store-1,,,,,,,5
            backorder,O-1,1,S,store-1,2,2026-11-01T10:00:00Z,2026-12-01,C-9,"Doe, ""Ana""
            Maria",ana@example.com,
            stock,,,S,store-1,,,,,,,bad
            stock,,,S,store-1
            stock,,,T,store-1,,,,,,,3

            """
        try Files.drop(h.path("feed.csv"), csv)
        try await eventually("T applied") { try h.onHand("T", "store-1") == 3 }
        let lines = try h.store.allLines()
        #expect(lines.count == 1)
        #expect(lines.first?.customer?.name == "Doe, \"Ana\"\nMaria")
        let rows = try rejected(h)
        #expect(rows.map(\.line) == [5, 6])
        #expect(rows[0].reason.contains("'on_hand' must be an integer"))
        #expect(rows[1].reason.contains("CSV row has 5 columns, the header has 12"))
        #expect(try h.store.cursors().first?.line == 7)
    }

    @Test func resumesACSVFileWithItsHeader() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("feed.csv"), "sku,type,delta\nS,stock,1\n")
        try await h.waitOnHand("S", 1)
        await h.stop()
        try Files.append(h.path("feed.csv"), "S,stock,4\n")
        try await h.start()
        #expect(try h.onHand("S") == 5)
    }

    @Test func rejectsEveryRowOfACSVWithoutATypeColumn() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("feed.csv"), "sku,on_hand\nS,1\nT,2\n")
        try await eventually("three rejects") { h.rejected.count == 3 }
        let rows = try rejected(h)
        #expect(rows[0].reason.contains("no 'type' column"))
        #expect(rows[1].reason.contains("no usable header"))
        #expect(try h.onHand("S") == nil)
    }

    @Test func readsACSVWithAByteOrderMarkBeforeAQuotedHeader() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("bom.csv"), "\u{FEFF}\"type\",\"sku\",\"on_hand\"\r\nstock,B,4\r\n")
        try await h.waitOnHand("B", 4)
        #expect(h.rejected.isEmpty, "\(h.rejected)")
    }

    @Test func findsTheHeaderAfterBlankFirstLines() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("blank.csv"), "\n  \r\ntype,sku,on_hand\nstock,E,6\n")
        try await h.waitOnHand("E", 6)
        #expect(h.rejected.isEmpty, "\(h.rejected)")
        await h.stop()
        // After a restart the header is found again from the stored offset.
        try Files.append(h.path("blank.csv"), "stock,E,8\n")
        try await h.start()
        try await h.waitOnHand("E", 8)
    }

    @Test func aRecordPastTheBoundsIsRejectedWithItsLine() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("big.jsonl"), [
            #"{"type":"stock","sku":"X","on_hand":9223372036854775807}"#,
            #"{"type":"stock","sku":"X","delta":-1000000000001}"#,
            #"{"type":"restock","po":"P","sku":"X","quantity":1000000000001,"expected_at":"2026-12-01"}"#,
            #"{"type":"stock","sku":"X","on_hand":2}"#,
        ].joined(separator: "\n") + "\n")
        try await h.waitOnHand("X", 2)
        let rows = try rejected(h)
        #expect(rows.map(\.line) == [1, 2, 3])
        #expect(rows[0].reason == "field 'on_hand' must be at most 1000000000000, got 9223372036854775807")
        #expect(rows[1].reason.contains("field 'delta' must be between -1000000000000 and 1000000000000"))
        #expect(rows[2].reason.contains("field 'quantity' must be at most 1000000000000"))
    }
}
