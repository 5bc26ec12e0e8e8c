import BackorderCore
import Foundation
import Testing

/// JSON string escaping: a table of the escapes, and a round trip through Foundation's
/// JSON parser for strings mixing every kind of character.
@Suite struct JSONTextTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        ("a\"b\\c", #""a\"b\\c""#),
        ("line\nnext\r\tend", #""line\nnext\r\tend""#),
        ("\u{0}\u{1f}\u{7f}", #""\u0000\u001f"# + "\u{7f}\""),
        ("ünïcödé ✓ 😀", "\"ünïcödé ✓ 😀\""),
    ])
    func escapes(_ input: String, _ expected: String) {
        #expect(JSONText.string(input) == expected)
    }

    @Test func everyStringRoundTrips() throws {
        let pieces = ["a", "Zz09", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1b}", "\u{1f}", " ", "é", "😀", "\u{2028}", "{", "}"]
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let s = (0..<Int.random(in: 0...24, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined()
            let json = "[" + JSONText.string(s) + "]"
            let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
            #expect(parsed == [s], "\(s.debugDescription) → \(json)")
        }
    }
}
