/// The decision state the `Decider` works on: positions, order lines and purchase
/// orders, with the indexes allocation needs and marks on what changed.
///
/// The store keeps one in memory for the daemon's life: every position, every open line
/// (waiting or ready) and every open purchase order, plus closed lines until the next
/// checkpoint has written them. Completeness is the promise: for every position, all its
/// waiting lines and open purchase orders are here.
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
        noteDeadline(old: nil, new: l)
        index(l)
        lines[l.key] = l
    }

    public mutating func load(_ r: Restock) {
        guard restocks[r.key] == nil else { return }
        positionRestocks[r.key.position, default: []].append(r.key)
        restocks[r.key] = r
    }

    // MARK: Checkpoints

    /// Forgets what changed: a checkpoint has written it. The sets keep their storage
    /// for the next batch, unless catching up made them large.
    public mutating func clearDirty() {
        closedLoaded.removeAll()
        let keep = 16_384
        dirtyPositions.removeAll(keepingCapacity: dirtyPositions.count <= keep)
        dirtyLines.removeAll(keepingCapacity: dirtyLines.count <= keep)
        dirtyRestocks.removeAll(keepingCapacity: dirtyRestocks.count <= keep)
    }

    /// Makes room for a state of this size at once (before loading it), instead of
    /// growing and rehashing the tables as it comes.
    public mutating func reserve(positions: Int, restocks: Int) {
        self.positions.reserveCapacity(positions)
        self.restocks.reserveCapacity(restocks)
        positionRestocks.reserveCapacity(min(positions, restocks))
    }

    /// Drops the closed lines and closed purchase orders among what changed, once a
    /// checkpoint has written them (call before `clearDirty`): the decisions never need
    /// them again, and the state file keeps them.
    public mutating func evictClosed() {
        for key in dirtyLines.union(closedLoaded) {
            guard let l = lines[key], !l.status.isOpen else { continue }
            lines[key] = nil
            if var keys = orderLines[key.order] {
                keys.removeAll { $0 == key }
                orderLines[key.order] = keys.isEmpty ? nil : keys
            }
            if var keys = positionLines[l.position] {
                keys.removeAll { $0 == key }
                positionLines[l.position] = keys.isEmpty ? nil : keys
            }
        }
        for key in dirtyRestocks {
            guard let r = restocks[key], r.status != .open else { continue }
            restocks[key] = nil
            if var keys = positionRestocks[key.position] {
                keys.removeAll { $0 == key }
                positionRestocks[key.position] = keys.isEmpty ? nil : keys
            }
        }
    }

    /// Drops the customers of the lines a checkpoint has written (call before
    /// `clearDirty`): the rows hold them, and messages read them back from there.
    public mutating func forgetCustomers() {
        for key in dirtyLines where lines[key]?.customer != nil {
            lines[key]!.customer = nil
        }
    }

    /// Closed lines loaded only to be seen closed, for `evictClosed` to drop again.
    private var closedLoaded: Set<LineKey> = []

    public mutating func markForEviction(_ key: LineKey) { closedLoaded.insert(key) }

    /// The earliest deadline of a waiting line, if any: kept up to date as lines change,
    /// and looked for among all lines only when the earliest one moved or closed.
    public mutating func nextDeadline() -> Instant? {
        if !earliestKnown {
            earliest = nil
            for l in lines.values where l.status == .waiting {
                if let d = l.deadline, earliest.map({ d < $0 }) ?? true { earliest = d }
            }
            earliestKnown = true
        }
        return earliest
    }

    private var earliest: Instant? = nil
    private var earliestKnown = false

    private mutating func noteDeadline(old: OrderLine?, new l: OrderLine) {
        guard earliestKnown else { return }
        if let o = old, o.status == .waiting, let d = o.deadline, d == earliest,
           !(l.status == .waiting && l.deadline.map { $0 <= d } ?? false) {
            earliestKnown = false  // the earliest one moved later or stopped waiting
            return
        }
        if l.status == .waiting, let d = l.deadline, earliest.map({ d < $0 }) ?? true { earliest = d }
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
        noteDeadline(old: lines[l.key], new: l)
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
        noteDeadline(old: lines[l.key], new: l)
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
