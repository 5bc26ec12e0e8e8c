/// The state of one stock position (one SKU at one location).
public struct Position: Equatable, Sendable {
    public var key: PositionKey
    public var onHand: Int64
    public var reserved: Int64
    public var updatedAt: Instant
    /// Staff alerts fire only once the position has been seen at or above the threshold.
    public var alertArmed = false
    /// Which alerts fired since the position was last at or above the threshold.
    public var alertsFired = AlertSet()
    /// How many alerts this position has raised: part of each alert's id.
    public var alertCount: Int64 = 0
    /// Waiting lines of this position; the store loads lines only where this is not 0.
    public var waitingLines: Int64 = 0
    /// Open purchase order lines of this position.
    public var openRestocks: Int64 = 0

    public init(key: PositionKey, onHand: Int64 = 0, reserved: Int64 = 0, updatedAt: Instant) {
        self.key = key
        self.onHand = onHand
        self.reserved = reserved
        self.updatedAt = updatedAt
    }

    public var available: Int64 { onHand - reserved }
}

/// An order line's identity.
public struct LineKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let order: String
    public let line: String

    public init(order: String, line: String) {
        self.order = order
        self.line = line
    }

    public static func < (a: LineKey, b: LineKey) -> Bool { (a.order, a.line) < (b.order, b.line) }
    public var description: String { "\(order)/\(line)" }
}

/// Where a backordered line stands.
public enum LineStatus: String, Equatable, Sendable, CaseIterable {
    case waiting, ready, fulfilled, cancelled

    public var isOpen: Bool { self == .waiting || self == .ready }
}

/// A backordered order line as the daemon tracks it.
public struct OrderLine: Equatable, Sendable {
    public var key: LineKey
    public var position: PositionKey
    public var qty: Int64
    /// Dates or instants, as the record gave them.
    public var orderedAt: Moment
    public var promisedAt: Moment
    /// The estimate the customer was last given: `promisedAt`, then the date of the last delay notice.
    public var estimate: Moment? {
        get { Self.moment(_estimate) }
        set { _estimate = Self.stored(newValue) }
    }
    /// The customer's zone (`customer.timezone`, else `policy.timezone`), in which the
    /// line's dates are read; kept when the customer leaves memory.
    public var zone: ZoneID = 0
    public var status: LineStatus
    /// The customer, while the line's row has not been written with it: the daemon drops
    /// it from memory at the checkpoint that writes it (a message reads it back from the
    /// state file), so an open line costs a pointer for it, not six strings.
    public var customer: Customer? {
        get { customerBox?.value }
        set { customerBox = newValue.map(CustomerBox.init) }
    }
    public var updatedAt: Instant
    /// The date the open purchase orders make this line complete, if known and not past.
    public var projected: Moment? {
        get { Self.moment(_projected) }
        set { _projected = Self.stored(newValue) }
    }
    /// When the line became ready.
    public var readyAt: Instant? {
        get { Self.instant(_readyAt) }
        set { _readyAt = Self.stored(newValue) }
    }
    /// The long-wait offer was made.
    public var longWaitSent = false
    /// The next time the clock must look at this line (overdue, long wait), while waiting.
    public var deadline: Instant? {
        get { Self.instant(_deadline) }
        set { _deadline = Self.stored(newValue) }
    }

    // The optional times, stored as milliseconds (a `Moment`'s raw form for estimate and
    // projected) with `Int64.min` for none: 8 bytes each instead of an optional's 16, in
    // every line the daemon keeps in memory.
    var _estimate = Int64.min
    var _projected = Int64.min
    var _readyAt = Int64.min
    var _deadline = Int64.min
    var customerBox: CustomerBox?
    private static func instant(_ ms: Int64) -> Instant? { ms == .min ? nil : Instant(milliseconds: ms) }
    private static func stored(_ i: Instant?) -> Int64 { i?.milliseconds ?? .min }
    private static func moment(_ raw: Int64) -> Moment? { raw == .min ? nil : Moment(raw: raw) }
    private static func stored(_ m: Moment?) -> Int64 { m?.raw ?? .min }

    public init(key: LineKey, position: PositionKey, qty: Int64, orderedAt: Moment, promisedAt: Moment,
                estimate: Moment?, status: LineStatus, customer: Customer?, updatedAt: Instant, zone: ZoneID = 0) {
        self.key = key
        self.position = position
        self.qty = qty
        self.orderedAt = orderedAt
        self.promisedAt = promisedAt
        self._estimate = Self.stored(estimate)
        self.status = status
        self.customerBox = customer.map(CustomerBox.init)
        self.updatedAt = updatedAt
        self.zone = zone
    }
}

/// A customer's details out of line: one pointer in an `OrderLine`.
final class CustomerBox: Equatable, Sendable {
    let value: Customer
    init(_ value: Customer) { self.value = value }
    static func == (a: CustomerBox, b: CustomerBox) -> Bool { a === b || a.value == b.value }
}

/// The staff alerts a position has raised since it was last healthy.
public struct AlertSet: OptionSet, Hashable, Sendable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static let low = AlertSet(rawValue: 1)
    public static let out = AlertSet(rawValue: 2)
    public static let oversold = AlertSet(rawValue: 4)
}

/// A purchase order line's identity.
public struct RestockKey: Hashable, Comparable, Sendable {
    public static func < (a: RestockKey, b: RestockKey) -> Bool { (a.po, a.position) < (b.po, b.position) }

    public var po: String
    public var position: PositionKey

    public init(po: String, position: PositionKey) {
        self.po = po
        self.position = position
    }
}

/// An inbound purchase order line.
public struct Restock: Equatable, Sendable {
    public var key: RestockKey
    public var quantity: Int64
    public var expectedAt: Moment
    public var status: RestockChange.Status
    public var updatedAt: Instant

    public init(key: RestockKey, quantity: Int64, expectedAt: Moment, status: RestockChange.Status, updatedAt: Instant) {
        self.key = key
        self.quantity = quantity
        self.expectedAt = expectedAt
        self.status = status
        self.updatedAt = updatedAt
    }
}

