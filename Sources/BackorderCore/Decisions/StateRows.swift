/// How `WorkingSet` stores its state: rows of integers in arrays, linked by row number.
///
/// A row number (`Int32`, `-1` for none) is stable until a checkpoint evicts the row;
/// a freed row is reused. Times are milliseconds, `Int64.min` where a time is absent.

/// One stock position: 80 bytes.
struct PositionRow: Sendable {
    var sku: Int32
    var location: Int32
    var onHand: Int64 = 0
    var reserved: Int64 = 0
    var updatedAt: Int64 = 0
    var alertCount: Int64 = 0
    var waitingLines: Int64 = 0
    var openRestocks: Int64 = 0
    /// The waiting lines in allocation order (`LineRow.prevWaiting`/`nextWaiting`).
    var waitHead: Int32 = -1
    var waitTail: Int32 = -1
    /// The purchase order lines, in no order (`RestockRow.next`).
    var restockHead: Int32 = -1
    /// How many leading waiting lines had a projected date at the last settle; -1 unknown.
    var projectedPrefix: Int32 = -1
    var alertsFired: UInt8 = 0
    var alertArmed = false
    /// A row made only to hang lines or purchase orders on, before any record set the
    /// position: it reads as absent.
    var exists = false
    var dirty = false
    /// The waiting list is in no order (loaded in file order, or lines put anywhere in
    /// a quiet list) and must be sorted before a walk in allocation order.
    var unsorted = false
    /// How many lines the waiting list holds.
    var listed: Int32 = 0
    /// `WorkingSet.tails` holds a `TailProjection` for this position.
    var hasTail = false

    init(sku: Int32, location: Int32) {
        self.sku = sku
        self.location = location
    }
}

/// One open order line (or one closed since the last checkpoint): 128 bytes.
struct LineRow: Sendable {
    var order: String
    var line: String
    var customer: CustomerBox?
    var qty: Int64
    /// `Moment.raw` (a date or an instant) for these four; the rest are milliseconds.
    var orderedAt: Int64
    var promisedAt: Int64
    var estimate: Int64
    var updatedAt: Int64
    var projected: Int64
    var readyAt: Int64
    var deadline: Int64
    var position: Int32
    /// The order's lines in the order they came (`WorkingSet`'s order index holds the first).
    var nextInOrder: Int32 = -1
    var prevWaiting: Int32 = -1
    var nextWaiting: Int32 = -1
    /// `LineStatus` as 0...3, `LineRow.free` for a row on the free list.
    var status: UInt8
    var longWaitSent: Bool
    /// The customer's zone (`ZoneID`).
    var zone: UInt16 = 0
    var dirty = false

    static let free: UInt8 = 0xFF
    static let waiting: UInt8 = 0

    static func code(_ s: LineStatus) -> UInt8 {
        switch s {
        case .waiting: 0
        case .ready: 1
        case .fulfilled: 2
        case .cancelled: 3
        }
    }

    static func status(_ code: UInt8) -> LineStatus {
        switch code {
        case 0: .waiting
        case 1: .ready
        case 2: .fulfilled
        default: .cancelled
        }
    }

    var isOpen: Bool { status <= 1 }
}

/// One purchase order line: 56 bytes.
struct RestockRow: Sendable {
    var po: String
    var quantity: Int64
    /// `Moment.raw`.
    var expectedAt: Int64
    var updatedAt: Int64
    var position: Int32
    /// The next purchase order line of the same position.
    var next: Int32 = -1
    /// `RestockChange.Status` as 0...2, `RestockRow.free` for a row on the free list.
    var status: UInt8
    var dirty = false

    static let free: UInt8 = 0xFF
    static let open: UInt8 = 0

    static func code(_ s: RestockChange.Status) -> UInt8 {
        switch s {
        case .open: 0
        case .received: 1
        case .cancelled: 2
        }
    }

    static func status(_ code: UInt8) -> RestockChange.Status {
        switch code {
        case 0: .open
        case 1: .received
        default: .cancelled
        }
    }
}
