/// What a customer's e-mail address and phone number must look like before they reach
/// a receiver that sends mail or SMS: one address, one number, nothing that could add a
/// header, a recipient or a line.
public enum ContactCheck {
    /// Why `email` is refused, or nil: a single addr-spec (`local@domain`), no display
    /// name, list, comment, quote, white space or control character; the domain dotted
    /// labels of letters, digits and hyphens (UTF-8 allowed in both parts).
    public static func emailProblem(_ email: String) -> String? {
        let bytes = Array(email.utf8)
        guard bytes.count <= 254 else { return "is longer than 254 bytes" }
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), bytes.lastIndex(of: UInt8(ascii: "@")) == at else {
            return "must hold exactly one '@'"
        }
        let local = bytes[..<at], domain = bytes[(at + 1)...]
        guard !local.isEmpty, local.count <= 64 else { return "needs a local part of 1 to 64 bytes before the '@'" }
        guard !domain.isEmpty else { return "needs a domain after the '@'" }
        let forbidden = Set(" \t\r\n\"(),:;<>[]\\".utf8)
        for b in local where b < 0x20 || b == 0x7F || forbidden.contains(b) {
            return "must be a single address: no spaces, quotes, commas, angle brackets or control characters"
        }
        guard local.first != UInt8(ascii: "."), local.last != UInt8(ascii: "."), !contains(local, "..") else {
            return "has a misplaced '.' before the '@'"
        }
        for label in domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
                return "has a domain that is not a host name"
            }
            for b in label where !(b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D) {
                return "has a domain that is not a host name"
            }
        }
        return nil
    }

    /// Why `phone` is refused, or nil: an optional leading '+', then 4 to 15 digits, with
    /// single spaces, hyphens, dots or parentheses between them for readability.
    public static func phoneProblem(_ phone: String) -> String? {
        var digits = 0
        var previousSeparator = true
        for (i, b) in phone.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                previousSeparator = false
            case UInt8(ascii: "+") where i == 0:
                continue
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"):
                if previousSeparator && b != UInt8(ascii: "(") { return "has separators in a row" }
                previousSeparator = b != UInt8(ascii: ")")
            default:
                return "may hold only digits, a leading '+', and spaces, hyphens, dots or parentheses"
            }
        }
        guard (4...15).contains(digits) else { return "needs 4 to 15 digits, got \(digits)" }
        return nil
    }

    private static func contains(_ bytes: ArraySlice<UInt8>, _ pair: String) -> Bool {
        let p = Array(pair.utf8)
        guard bytes.count >= p.count else { return false }
        var i = bytes.startIndex
        while i + p.count <= bytes.endIndex {
            if Array(bytes[i..<(i + p.count)]) == p { return true }
            i += 1
        }
        return false
    }
}
