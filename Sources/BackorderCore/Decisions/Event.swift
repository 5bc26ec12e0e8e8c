/// Something a customer or the staff must be told, as the decision pass found it.
public enum Event: Equatable, Sendable {
    /// The line's quantity is reserved for it: it can ship.
    case ready(LineKey, at: Instant)
    /// The projected date moved past the estimate given; `to` is the new estimate.
    case delayed(LineKey, to: Moment, at: Instant)
    /// The estimate given (`estimate`, plus grace) passed and no date is known.
    case overdue(LineKey, estimate: Moment, at: Instant)
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
    public var nextRestockAt: Moment?

    public init(kind: Kind, key: PositionKey, sequence: Int64, at: Instant, onHand: Int64, reserved: Int64, available: Int64,
                waitingQty: Int64, nextRestockAt: Moment?) {
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
