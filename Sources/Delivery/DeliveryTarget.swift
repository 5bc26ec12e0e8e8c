import BackorderCore

/// One webhook receiver, ready to send to.
public struct DeliveryTarget: Sendable {
    public var name: String
    public var url: String
    public var signer: WebhookSigner
    public var quietHours: QuietHours?
    public var maxInFlight: Int

    public init(name: String, url: String, signer: WebhookSigner, quietHours: QuietHours?, maxInFlight: Int) {
        self.name = name
        self.url = url
        self.signer = signer
        self.quietHours = quietHours
        self.maxInFlight = maxInFlight
    }
}
