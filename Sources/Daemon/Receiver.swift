import BackorderCore
import Delivery
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix

/// The built-in receiver behind `backorderd receive`: checks each webhook's signature
/// and prints the message readably. For demos and for debugging a setup.
public enum Receiver {
    /// Listens on `host:port` until cancelled; `print` receives each formatted message.
    public static func run(host: String, port: UInt16, secret: String, print: @escaping @Sendable (String) -> Void) async throws {
        guard let signer = WebhookSigner(secrets: [secret]) else {
            throw DaemonError("--secret must be a whsec_… secret")
        }
        let server = Server(
            childChannelSetup: GuardedHTTPChannel(budget: ConnectionBudget(limit: HTTPLimits.connections)) { request, writer, _ in
                var request = request
                let body = Data((try await request.collectBody(upTo: maxBody)).readableBytesView)
                let id = request.headers[HTTPField.Name("webhook-id")!] ?? "?"
                let ts = Int64(request.headers[HTTPField.Name("webhook-timestamp")!] ?? "") ?? 0
                let sig = request.headers[HTTPField.Name("webhook-signature")!] ?? ""
                let valid = signer.verify(id: id, timestamp: ts, body: [UInt8](body), header: sig)
                print(format(id: id, body: body, signatureValid: valid))
                try await writer.writeResponse(HTTPResponse(status: valid ? .noContent : .unauthorized))
            },
            configuration: ServerConfiguration(address: .hostname(host, port: Int(port))),
            onServerRunning: { _ in
                print("receiver listening on http://\(host):\(port)/ — checking signatures with the given secret")
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "backorderd.receive", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await server.run()
    }

    /// The largest webhook body the receiver reads.
    static let maxBody = 4 << 20

    /// One message as a person reads it.
    public static func format(id: String, body: Data, signatureValid: Bool) -> String {
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              let type = json["type"] as? String, let data = json["data"] as? [String: Any] else {
            return "── ? \(id)  \(signatureValid ? "signature ok" : "SIGNATURE INVALID")\n   (not a backorderd message: \(body.count) bytes)\n"
        }
        var out = "── \(type)  \(id)  \(signatureValid ? "signature ok" : "SIGNATURE INVALID")\n"
        if let order = data["order"] as? String {
            let customer = data["customer"] as? [String: Any] ?? [:]
            out += "   order \(order) for \(customer["name"] as? String ?? customer["id"] as? String ?? "?")\n"
            for (label, key) in [("ready", "lines"), ("waiting", "remaining")] {
                for l in data[key] as? [[String: Any]] ?? [] {
                    let expected = (l["expected_at"] as? String).map { ", expected \($0)" } ?? ""
                    out += "   \(key == "lines" ? "·" : "…") \(l["qty"] ?? "?") x \(l["sku"] ?? "?") at \(l["location"] ?? "?")\(key == "remaining" ? " (\(label)\(expected))" : expected)\n"
                }
            }
        } else {
            out += "   \(data["sku"] ?? "?") at \(data["location"] ?? "?"): on hand \(data["on_hand"] ?? "?"), reserved \(data["reserved"] ?? "?"), available \(data["available"] ?? "?"), waiting \(data["waiting_qty"] ?? "?")\n"
        }
        if let m = data["message"] as? [String: Any] {
            out += "   subject: \(m["subject"] as? String ?? "")\n"
            out += "   sms:     \(m["sms"] as? String ?? "")\n"
            let text = (m["text"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            out += text.map { "   | \($0)" }.joined(separator: "\n") + "\n"
        }
        return out
    }
}
