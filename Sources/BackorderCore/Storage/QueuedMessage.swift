/// One message to queue, once per endpoint that takes it: made by the engine, stored
/// as given by the backend.
public struct QueuedMessage: Sendable, Equatable {
    public var webhookID: String
    /// Fixed: `replaces` and `wholeOrder` follow from it.
    public let type: EventType
    /// What orders delivery: the order id, or `stock:SKU@LOCATION`.
    public var orderKey: String
    /// The lines it speaks for (`order/line`).
    public var lineKeys: [String]
    /// The customer's zone, for quiet hours (customer messages only).
    public var zone: String?
    public var isCustomerMessage: Bool
    /// The Standard Webhooks body.
    public var body: [UInt8]
    /// The endpoints that take it, in configuration order.
    public var endpoints: [String]
    /// The types of the older pending messages of its order (same endpoint) it makes
    /// obsolete once it is queued: all of them with `wholeOrder`, else only those whose
    /// lines it all speaks for.
    public var replaces: Set<EventType>
    public var wholeOrder: Bool

    public init(webhookID: String, type: EventType, orderKey: String, lineKeys: [String], zone: String?, isCustomerMessage: Bool,
                body: [UInt8], endpoints: [String]) {
        self.webhookID = webhookID
        self.type = type
        self.orderKey = orderKey
        self.lineKeys = lineKeys
        self.zone = zone
        self.isCustomerMessage = isCustomerMessage
        self.body = body
        self.endpoints = endpoints
        let rule = type.supersedes
        self.replaces = Set(rule.types)
        self.wholeOrder = rule.wholeOrder
    }
}
