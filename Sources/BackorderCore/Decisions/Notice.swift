/// One message to send: a customer's news about one order, or a staff alert.
///
/// Built by `Grouper` from the events of one batch or one clock wake; its `idSeed`
/// names the event (type, order, lines, dates), so the same input always gives the
/// same webhook id.
public struct Notice: Equatable, Sendable {
    public var type: EventType
    /// What orders the delivery of messages: the order id, or `stock:SKU@LOCATION`.
    public var orderKey: String
    public var at: Instant
    public var idSeed: String
    public var content: Content
    /// The lines this message speaks for, to tell which older pending messages it replaces.
    public var lineKeys: [String]

    public init(type: EventType, orderKey: String, at: Instant, idSeed: String, content: Content, lineKeys: [String]) {
        self.type = type
        self.orderKey = orderKey
        self.at = at
        self.idSeed = idSeed
        self.content = content
        self.lineKeys = lineKeys
    }

    public enum Content: Equatable, Sendable {
        case customer(CustomerNotice)
        case staff(StaffAlert)
    }
}

/// The data of a customer message.
public struct CustomerNotice: Equatable, Sendable {
    public var order: String
    /// The customer of the notice's first line; nil when the line's customer is not in
    /// memory (written at an earlier checkpoint) until the engine reads it back
    /// (`Engine.withCustomers`) — before anything renders the notice.
    public var customer: Customer?
    public var lines: [NoticeLine]
    public var remaining: [NoticeLine]
    public var cancelURL: String?

    public init(order: String, customer: Customer?, lines: [NoticeLine], remaining: [NoticeLine], cancelURL: String?) {
        self.order = order
        self.customer = customer
        self.lines = lines
        self.remaining = remaining
        self.cancelURL = cancelURL
    }

    /// The customer to address. Renderers use this; it is empty only when the engine could
    /// not read the customer back from the store, which it logs (`customer_missing`).
    public var recipient: Customer { customer ?? Customer(id: "") }
}

/// One order line as a message shows it.
public struct NoticeLine: Equatable, Sendable {
    public var line: String
    public var sku: String
    public var qty: Int64
    public var location: String
    public var promisedAt: Moment
    /// The date now expected, or nil when none is known (or the line is ready).
    public var expectedAt: Moment?

    public init(line: String, sku: String, qty: Int64, location: String, promisedAt: Moment, expectedAt: Moment?) {
        self.line = line
        self.sku = sku
        self.qty = qty
        self.location = location
        self.promisedAt = promisedAt
        self.expectedAt = expectedAt
    }
}

extension Event {
    var orderID: String? {
        switch self {
        case .ready(let k, _), .delayed(let k, _, _), .overdue(let k, _, _), .longWait(let k, _): k.order
        case .staff: nil
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
