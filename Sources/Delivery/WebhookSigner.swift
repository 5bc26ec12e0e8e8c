import BackorderCore
import Crypto
import Foundation

/// Signs webhook bodies the Standard Webhooks way: `v1,` + base64 HMAC-SHA256 over
/// `id.timestamp.body`, keyed with the base64-decoded part of each `whsec_` secret.
/// Several secrets (a rotation) give several space-separated signatures.
public struct WebhookSigner: @unchecked Sendable {
    /// One keyed HMAC per secret, copied for each message (a value type: copying it
    /// saves setting up the key every time). Never mutated, hence `@unchecked Sendable`.
    private let keyed: [HMAC<SHA256>]

    public init(keys: [[UInt8]]) {
        self.keyed = keys.map { HMAC<SHA256>(key: SymmetricKey(data: $0)) }
    }

    /// Decodes `whsec_…` secrets (`key(of:)`); nil when one is not a valid secret.
    public init?(secrets: [String]) {
        var decoded: [[UInt8]] = []
        for s in secrets {
            guard let key = Self.key(of: s) else { return nil }
            decoded.append(key)
        }
        self.init(keys: decoded)
    }

    /// The shortest key a secret may decode to (128 bits).
    public static let minimumKeyBytes = 16

    /// The HMAC key of a `whsec_…` secret: the base64 after the prefix, at least
    /// `minimumKeyBytes` long. The one reading of a secret, for the configuration,
    /// `backorderd receive` and the signer alike.
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))),
              data.count >= minimumKeyBytes else { return nil }
        return [UInt8](data)
    }

    /// The `webhook-signature` header value.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        // Byte buffers straight into the HMAC: the generic `DataProtocol` path over
        // `[UInt8]` and the digest's `Sequence` cost more than the hash itself.
        var prefix: [UInt8] = []
        prefix.reserveCapacity(id.utf8.count + 22)
        prefix.append(contentsOf: id.utf8)
        prefix.append(UInt8(ascii: "."))
        prefix.append(contentsOf: String(timestamp).utf8)
        prefix.append(UInt8(ascii: "."))
        var out = ""
        out.reserveCapacity(keyed.count * 48)
        for base in keyed {
            var h = base
            prefix.withUnsafeBytes { h.update(data: $0) }
            body.withUnsafeBytes { h.update(data: $0) }
            if !out.isEmpty { out += " " }
            out += "v1,"
            out += h.finalize().withUnsafeBytes { Base64.encode($0) }
        }
        return out
    }

    /// Checks a `webhook-signature` header against the body: any one matching signature
    /// passes. For the built-in receiver.
    public func verify(id: String, timestamp: Int64, body: [UInt8], header: String) -> Bool {
        let expected = Set(signature(id: id, timestamp: timestamp, body: body).split(separator: " "))
        return header.split(separator: " ").contains { expected.contains($0) }
    }
}
