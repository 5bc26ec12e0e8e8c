/// The state of one stock position (one SKU at one location).
public struct Position: Equatable, Sendable {
    public var key: PositionKey
    public var onHand: Int64
    public var reserved: Int64
    public var updatedAt: Instant

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
    public var order: String
    public var line: String

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
    public var orderedAt: Instant
    public var promisedAt: Instant
    /// The estimate the customer was last given: `promisedAt`, then the date of the last delay notice.
    public var estimate: Instant?
    public var status: LineStatus
    public var customer: Customer
    public var updatedAt: Instant

    public init(key: LineKey, position: PositionKey, qty: Int64, orderedAt: Instant, promisedAt: Instant,
                estimate: Instant?, status: LineStatus, customer: Customer, updatedAt: Instant) {
        self.key = key
        self.position = position
        self.qty = qty
        self.orderedAt = orderedAt
        self.promisedAt = promisedAt
        self.estimate = estimate
        self.status = status
        self.customer = customer
        self.updatedAt = updatedAt
    }
}

/// A purchase order line's identity.
public struct RestockKey: Hashable, Sendable {
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
    public var expectedAt: Instant
    public var status: RestockChange.Status
    public var updatedAt: Instant

    public init(key: RestockKey, quantity: Int64, expectedAt: Instant, status: RestockChange.Status, updatedAt: Instant) {
        self.key = key
        self.quantity = quantity
        self.expectedAt = expectedAt
        self.status = status
        self.updatedAt = updatedAt
    }
}

/// The rows a batch touches, loaded by the store, changed here, written back by the store.
///
/// Whatever a record needs must be loaded before `Ledger.apply` runs: the store asks
/// `WorkingSet.Needs.of(records)` what that is.
public struct WorkingSet: Sendable {
    public var positions: [PositionKey: Position] = [:]
    public var lines: [LineKey: OrderLine] = [:]
    public var restocks: [RestockKey: Restock] = [:]
    /// Line keys per order, for `order` records that close every line.
    public var orderLines: [String: [LineKey]] = [:]

    public private(set) var dirtyPositions: Set<PositionKey> = []
    public private(set) var dirtyLines: Set<LineKey> = []
    public private(set) var dirtyRestocks: Set<RestockKey> = []

    public init() {}

    /// What the store must load before a batch of records can be applied.
    public struct Needs: Sendable {
        public var positions: Set<PositionKey> = []
        public var lines: Set<LineKey> = []
        public var restocks: Set<RestockKey> = []
        public var orders: Set<String> = []

        public static func of<S: Sequence>(_ records: S) -> Needs where S.Element == Record {
            var n = Needs()
            for r in records {
                switch r {
                case .stock(let s): n.positions.insert(s.key)
                case .restock(let r):
                    n.positions.insert(r.key)
                    n.restocks.insert(RestockKey(po: r.po, position: r.key))
                case .backorder(let b):
                    n.positions.insert(b.key)
                    n.lines.insert(LineKey(order: b.order, line: b.line))
                case .order(let o): n.orders.insert(o.order)
            }
            }
            return n
        }
    }

    mutating func position(_ key: PositionKey, at: Instant) -> Position {
        positions[key] ?? Position(key: key, updatedAt: at)
    }

    mutating func put(_ p: Position) {
        positions[p.key] = p
        dirtyPositions.insert(p.key)
    }

    mutating func put(_ l: OrderLine) {
        if lines[l.key] == nil { orderLines[l.key.order, default: []].append(l.key) }
        lines[l.key] = l
        dirtyLines.insert(l.key)
    }

    mutating func put(_ r: Restock) {
        restocks[r.key] = r
        dirtyRestocks.insert(r.key)
    }
}

/// Applies records to a working set, one at a time, in file order.
///
/// This is the state half of the decision core: counts, lines and purchase orders.
/// It reads no clock: each record's time is its `at`, or the batch's read time.
public struct Ledger: Sendable {
    public var stockCounts: StockCounts

    /// How the feed's stock counts relate to open order lines (`policy.stock_counts`).
    public enum StockCounts: String, Sendable, CaseIterable {
        /// The count is what is physically on the shelf.
        case onHand = "on_hand"
        /// The count already subtracts every open order line (a salable quantity).
        case net
    }

    public init(stockCounts: StockCounts = .onHand) {
        self.stockCounts = stockCounts
    }

    public func apply(_ record: Record, defaultAt: Instant, to ws: inout WorkingSet) {
        switch record {
        case .stock(let s):
            let at = s.at ?? defaultAt
            var p = ws.position(s.key, at: at)
            switch s.kind {
            case .onHand(let v):
                p.onHand = stockCounts == .net ? v + openQuantity(s.key, in: ws) : v
            case .delta(let d):
                p.onHand += d
            }
            p.updatedAt = at
            ws.put(p)
        case .restock(let r):
            let at = r.at ?? defaultAt
            let key = RestockKey(po: r.po, position: r.key)
            ws.put(Restock(key: key, quantity: r.quantity, expectedAt: r.expectedAt, status: r.status, updatedAt: at))
            if ws.positions[r.key] == nil { ws.put(ws.position(r.key, at: at)) }
        case .backorder(let b):
            let at = b.at ?? defaultAt
            let key = LineKey(order: b.order, line: b.line)
            if var existing = ws.lines[key] {
                if existing.promisedAt != b.promisedAt { existing.estimate = b.promisedAt }
                existing.promisedAt = b.promisedAt
                existing.qty = b.qty
                existing.orderedAt = b.orderedAt
                existing.customer = b.customer
                existing.position = b.key
                existing.updatedAt = at
                ws.put(existing)
            } else {
                ws.put(OrderLine(key: key, position: b.key, qty: b.qty, orderedAt: b.orderedAt, promisedAt: b.promisedAt,
                                 estimate: b.promisedAt, status: .waiting, customer: b.customer, updatedAt: at))
            }
            if ws.positions[b.key] == nil { ws.put(ws.position(b.key, at: at)) }
        case .order(let o):
            let at = o.at ?? defaultAt
            let keys = o.line.map { [LineKey(order: o.order, line: $0)] } ?? (ws.orderLines[o.order] ?? [])
            for key in keys {
                guard var line = ws.lines[key], line.status.isOpen else { continue }
                if line.status == .ready {
                    var p = ws.position(line.position, at: at)
                    p.reserved -= line.qty
                    if o.status == .fulfilled { p.onHand -= line.qty }
                    p.updatedAt = at
                    ws.put(p)
                }
                line.status = o.status == .fulfilled ? .fulfilled : .cancelled
                line.updatedAt = at
                ws.put(line)
            }
        }
    }

    private func openQuantity(_ key: PositionKey, in ws: WorkingSet) -> Int64 {
        var sum: Int64 = 0
        for (_, l) in ws.lines where l.position == key && l.status.isOpen { sum += l.qty }
        return sum
    }
}
