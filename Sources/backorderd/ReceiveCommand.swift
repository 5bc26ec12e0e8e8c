import ArgumentParser
import Daemon
import Delivery
import Foundation

/// `backorderd receive`: a small webhook receiver that checks signatures and prints messages.
struct ReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive", abstract: "Receive webhooks, check their signatures and print them (demos, debugging).")

    @Option(help: "Where to listen, HOST:PORT (loopback recommended).")
    var listen: String = "127.0.0.1:8099"

    @Option(help: "The endpoint's secret, whsec_….")
    var secret: String

    func validate() throws {
        guard let colon = listen.lastIndex(of: ":"), UInt16(listen[listen.index(after: colon)...]) != nil else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8099")
        }
        guard WebhookSigner.key(of: secret) != nil else {
            throw ValidationError("--secret must be a whsec_… secret of at least 128 bits (the same as the endpoint's)")
        }
    }

    func run() async throws {
        let colon = listen.lastIndex(of: ":")!
        let host = String(listen[..<colon])
        let port = UInt16(listen[listen.index(after: colon)...])!
        try await Receiver.run(host: host, port: port, secret: secret) { text in
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}
