/// Something a customer or the staff must be told, as the decision pass found it.
public enum Event: Equatable, Sendable {
    /// The line's quantity is reserved for it: it can ship.
    case ready(LineKey, at: Instant)
    /// The projected date moved past the estimate given; `to` is the new estimate.
    case delayed(LineKey, to: Instant, at: Instant)
    /// The estimate given (`estimate`, plus grace) passed and no date is known.
    case overdue(LineKey, estimate: Instant, at: Instant)
    /// The line has waited `policy.long_wait` since it was ordered.
    case longWait(LineKey, at: Instant)
    /// A stock position crossed a staff alert level.
    case staff(StaffAlert)

    public var at: Instant {
        switch self {
        case .ready(_, let at), .delayed(_, _, let at), .overdue(_, _, let at), .longWait(_, let at): at
        case .staff(let a): a.at
        }
    }
}

/// A staff alert and the figures staff need to act on it.
public struct StaffAlert: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case low = "stock.low"
        case out = "stock.out"
        case oversold = "stock.oversold"
    }
    public var kind: Kind
    public var key: PositionKey
    /// The position's running alert count: makes each crossing's id unique and replayable.
    public var sequence: Int64
    public var at: Instant
    public var onHand: Int64
    public var reserved: Int64
    public var available: Int64
    public var waitingQty: Int64
    public var nextRestockAt: Instant?

    public init(kind: Kind, key: PositionKey, sequence: Int64, at: Instant, onHand: Int64, reserved: Int64, available: Int64,
                waitingQty: Int64, nextRestockAt: Instant?) {
        self.kind = kind
        self.key = key
        self.sequence = sequence
        self.at = at
        self.onHand = onHand
        self.reserved = reserved
        self.available = available
        self.waitingQty = waitingQty
        self.nextRestockAt = nextRestockAt
    }
}

/// The knobs of the decision pass (`[policy]`).
public struct DecisionPolicy: Sendable, Equatable {
    /// `fifo`: a line is never passed over by a later one. `fill`: later lines may take
    /// stock the head line cannot use.
    public enum Allocation: String, Sendable, CaseIterable { case fifo, fill }

    /// How the feed's stock counts relate to open order lines (`policy.stock_counts`).
    public enum StockCounts: String, Sendable, CaseIterable {
        /// The count is what is physically on the shelf.
        case onHand = "on_hand"
        /// The count already subtracts every open order line (a salable quantity).
        case net
    }

    public var allocation: Allocation
    public var grace: Span
    public var longWait: Span
    public var lowStockThreshold: Int64
    public var stockCounts: StockCounts

    public init(allocation: Allocation = .fifo, grace: Span = .zero, longWait: Span = .days(21),
                lowStockThreshold: Int64 = 5, stockCounts: StockCounts = .onHand) {
        self.allocation = allocation
        self.grace = grace
        self.longWait = longWait
        self.lowStockThreshold = lowStockThreshold
        self.stockCounts = stockCounts
    }
}
