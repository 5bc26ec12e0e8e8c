/// The rows a batch touches, loaded by the store, changed by the `Decider`, written back
/// by the store.
///
/// The store promises completeness: for every loaded position with `waitingLines > 0`,
/// all its waiting lines are loaded, and with `openRestocks > 0`, all its open purchase
/// orders. Ready lines are loaded only when a record names them (by line or by order).
public struct WorkingSet: Sendable {
    public private(set) var positions: [PositionKey: Position] = [:]
    public private(set) var lines: [LineKey: OrderLine] = [:]
    public private(set) var restocks: [RestockKey: Restock] = [:]
    /// Line keys per order and per position; restock keys per position.
    public private(set) var orderLines: [String: [LineKey]] = [:]
    public private(set) var positionLines: [PositionKey: [LineKey]] = [:]
    public private(set) var positionRestocks: [PositionKey: [RestockKey]] = [:]

    public private(set) var dirtyPositions: Set<PositionKey> = []
    public private(set) var dirtyLines: Set<LineKey> = []
    public private(set) var dirtyRestocks: Set<RestockKey> = []

    /// Waiting lines per position in allocation order, and how many of them lead with a
    /// projected date: kept for the batch so a hot SKU with hundreds of waiting lines is
    /// sorted once, not once per record.
    var waitingOrder: [PositionKey: [LineKey]] = [:]
    var projectedPrefix: [PositionKey: Int] = [:]

    public init() {}

    // MARK: Loading (no dirty marks)

    public mutating func load(_ p: Position) { positions[p.key] = p }

    public mutating func load(_ l: OrderLine) {
        guard lines[l.key] == nil else { return }
        index(l)
        lines[l.key] = l
    }

    public mutating func load(_ r: Restock) {
        guard restocks[r.key] == nil else { return }
        positionRestocks[r.key.position, default: []].append(r.key)
        restocks[r.key] = r
    }

    // MARK: Changing

    func position(_ key: PositionKey, at: Instant) -> Position {
        positions[key] ?? Position(key: key, updatedAt: at)
    }

    mutating func put(_ p: Position) {
        if positions[p.key] != p {
            positions[p.key] = p
            dirtyPositions.insert(p.key)
        }
    }

    mutating func put(_ l: OrderLine) {
        if let old = lines[l.key] {
            if old == l { return }
            if old.status != l.status || old.orderedAt != l.orderedAt || old.position != l.position {
                if old.status == .waiting { unqueue(old) }
                if l.status == .waiting { enqueue(l) }
            }
            if old.position != l.position {
                positionLines[old.position]?.removeAll { $0 == l.key }
                positionLines[l.position, default: []].append(l.key)
            }
        } else {
            index(l)
            if l.status == .waiting { enqueue(l) }
        }
        lines[l.key] = l
        dirtyLines.insert(l.key)
    }

    /// Writes a line the decision pass changed without changing its place in line.
    mutating func update(_ l: OrderLine) {
        guard lines[l.key] != l else { return }
        lines[l.key] = l
        dirtyLines.insert(l.key)
    }

    /// Keeps a cached waiting order in step with a line that starts waiting.
    private mutating func enqueue(_ l: OrderLine) {
        projectedPrefix[l.position] = nil
        guard var keys = waitingOrder[l.position] else { return }
        waitingOrder[l.position] = nil
        let rank = (l.orderedAt, l.key.order, l.key.line)
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let m = lines[keys[mid]]!
            if (m.orderedAt, m.key.order, m.key.line) < rank { lo = mid + 1 } else { hi = mid }
        }
        keys.insert(l.key, at: lo)
        waitingOrder[l.position] = keys
    }

    /// Keeps a cached waiting order in step with a line that stops waiting.
    private mutating func unqueue(_ l: OrderLine) {
        projectedPrefix[l.position] = nil
        guard var keys = waitingOrder[l.position] else { return }
        waitingOrder[l.position] = nil
        keys.removeAll { $0 == l.key }
        waitingOrder[l.position] = keys
    }

    mutating func put(_ r: Restock) {
        if restocks[r.key] == nil { positionRestocks[r.key.position, default: []].append(r.key) }
        if restocks[r.key] != r {
            restocks[r.key] = r
            dirtyRestocks.insert(r.key)
        }
    }

    private mutating func index(_ l: OrderLine) {
        orderLines[l.key.order, default: []].append(l.key)
        positionLines[l.position, default: []].append(l.key)
    }

    /// Waiting lines of a position in allocation order: `ordered_at`, then order, then line.
    func waitingLines(of key: PositionKey) -> [OrderLine] {
        (positionLines[key] ?? []).compactMap { lines[$0] }.filter { $0.status == .waiting }.sorted {
            ($0.orderedAt, $0.key.order, $0.key.line) < ($1.orderedAt, $1.key.order, $1.key.line)
        }
    }

    /// The keys of `waitingLines(of:)`, cached for the batch.
    mutating func waitingKeys(of key: PositionKey) -> [LineKey] {
        if let cached = waitingOrder[key] { return cached }
        let keys = waitingLines(of: key).map(\.key)
        waitingOrder[key] = keys
        return keys
    }

    /// Open purchase orders of a position in arrival order.
    func openRestocks(of key: PositionKey) -> [Restock] {
        (positionRestocks[key] ?? []).compactMap { restocks[$0] }.filter { $0.status == .open }.sorted {
            ($0.expectedAt, $0.key.po) < ($1.expectedAt, $1.key.po)
        }
    }
}

/// What the store must load before a batch of records can be applied.
public struct Needs: Sendable {
    public var positions: Set<PositionKey> = []
    public var lines: Set<LineKey> = []
    public var restocks: Set<RestockKey> = []
    public var orders: Set<String> = []

    public init() {}

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
