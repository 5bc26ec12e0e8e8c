/// One validated line of an inventory change file.
public enum Record: Equatable, Sendable {
    case stock(StockChange)
    case restock(RestockChange)
    case backorder(BackorderLine)
    case order(OrderClose)

    /// The record's `type` as written in the change file.
    public var typeName: String {
        switch self {
        case .stock: "stock"
        case .restock: "restock"
        case .backorder: "backorder"
        case .order: "order"
        }
    }
}

/// A stock position: one SKU at one location.
///
/// Made freely (the working set keeps positions as interned ids and rebuilds a key when
/// asked); the working set's own index hashes the strings, not this type.
public struct PositionKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let sku: String
    public let location: String

    public init(sku: String, location: String) {
        self.sku = sku
        self.location = location
    }

    public static func < (lhs: PositionKey, rhs: PositionKey) -> Bool {
        (lhs.sku, lhs.location) < (rhs.sku, rhs.location)
    }

    public var description: String { "\(sku)@\(location)" }
}

/// `type = "stock"`: the on-hand count was set, or changed by a delta.
public struct StockChange: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case onHand(Int64)
        case delta(Int64)
    }
    public var key: PositionKey
    public var kind: Kind
    public var at: Instant?

    public init(key: PositionKey, kind: Kind, at: Instant? = nil) {
        self.key = key
        self.kind = kind
        self.at = at
    }
}

/// `type = "restock"`: an inbound purchase order line and its expected arrival.
public struct RestockChange: Equatable, Sendable {
    public enum Status: String, Equatable, Sendable, CaseIterable {
        case open, received, cancelled
    }
    public var po: String
    public var key: PositionKey
    public var quantity: Int64
    /// A date or an instant, as given.
    public var expectedAt: Moment
    public var status: Status
    public var at: Instant?

    public init(po: String, key: PositionKey, quantity: Int64, expectedAt: Moment, status: Status = .open, at: Instant? = nil) {
        self.po = po
        self.key = key
        self.quantity = quantity
        self.expectedAt = expectedAt
        self.status = status
        self.at = at
    }
}

/// The customer of a backordered line, as the change file gives it.
public struct Customer: Equatable, Sendable {
    public var id: String
    public var name: String?
    public var email: String?
    public var phone: String?
    public var locale: String
    public var timezone: String?

    public init(id: String, name: String? = nil, email: String? = nil, phone: String? = nil, locale: String = "en", timezone: String? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
        self.locale = locale
        self.timezone = timezone
    }
}

/// `type = "backorder"`: a customer's order line waiting for stock.
public struct BackorderLine: Equatable, Sendable {
    public var order: String
    public var line: String
    public var key: PositionKey
    public var qty: Int64
    /// Dates or instants, as given.
    public var orderedAt: Moment
    public var promisedAt: Moment
    public var customer: Customer
    public var at: Instant?

    public init(order: String, line: String, key: PositionKey, qty: Int64, orderedAt: Moment, promisedAt: Moment, customer: Customer, at: Instant? = nil) {
        self.order = order
        self.line = line
        self.key = key
        self.qty = qty
        self.orderedAt = orderedAt
        self.promisedAt = promisedAt
        self.customer = customer
        self.at = at
    }
}

/// `type = "order"`: one line, or every line of an order, was fulfilled or cancelled.
public struct OrderClose: Equatable, Sendable {
    public enum Status: String, Equatable, Sendable, CaseIterable {
        case fulfilled, cancelled
    }
    public var order: String
    public var line: String?
    public var status: Status
    public var at: Instant?

    public init(order: String, line: String? = nil, status: Status, at: Instant? = nil) {
        self.order = order
        self.line = line
        self.status = status
        self.at = at
    }
}
