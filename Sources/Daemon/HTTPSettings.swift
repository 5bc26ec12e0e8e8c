import Crypto
import Foundation

/// `[http]`: one listener for the read-only status page and `/metrics`. Off when
/// `listen` is absent; loopback unless `allow_remote = true`, and then only with a
/// bearer token from `token_file` on every request.
public struct HTTPSettings: Sendable, Equatable {
    public var listen: String
    public var allowRemote: Bool = false
    /// The bearer token every request must carry, when `token_file` is set.
    public var token: BearerToken?

    public init(listen: String, allowRemote: Bool = false, token: BearerToken? = nil) {
        self.listen = listen
        self.allowRemote = allowRemote
        self.token = token
    }
}

/// A bearer token read from `token_file`. Its description never shows it, and it is
/// compared in constant time (both sides hashed first, so the length leaks nothing either).
public struct BearerToken: Sendable, Equatable, CustomStringConvertible {
    /// A token shorter than this is refused by the configuration.
    public static let minimumLength = 16
    private let digest: [UInt8]

    public init(_ text: String) { digest = Array(SHA256.hash(data: Data(text.utf8))) }

    /// Whether an `Authorization` header value is `Bearer <this token>`.
    public func accepts(authorization header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(SHA256.hash(data: Data(header.dropFirst(7).utf8)))
        var difference: UInt8 = 0
        for i in 0..<digest.count { difference |= digest[i] ^ given[i] }
        return difference == 0
    }

    public var description: String { "BearerToken(redacted)" }
}
