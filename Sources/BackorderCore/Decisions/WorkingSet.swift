/// The decision state the `Decider` works on: positions, order lines and purchase
/// orders, with the indexes allocation needs and marks on what changed.
///
/// The engine keeps one in memory for the daemon's life: every position, every open line
/// (waiting or ready) and every open purchase order, plus closed lines until the next
/// checkpoint has written them. Completeness is the promise: for every position, all its
/// waiting lines and open purchase orders are here.
///
/// Storage is compact (`StateRows`): rows of integers in arrays, SKUs and locations
/// interned, keys kept once in their rows and found through `SlotTable`s; a position's
/// waiting lines are a list linked in allocation order, an order's lines and a position's
/// purchase orders lists linked by row. `Position`, `OrderLine` and `Restock` are the
/// values it hands out and takes back.
public struct WorkingSet: Sendable {
    var skus = Interner()
    /// `skus.ranks()` and `locations.ranks()`, redone when a new one is interned.
    var skuRanks: [Int32] = [], locationRanks: [Int32] = []
    var locations = Interner()
    var positionRows = RowTable<PositionRow>()
    var positionIndex = SlotTable()
    var lineRows = RowTable<LineRow>()
    var freeLines: [Int32] = []
    var lineIndex = SlotTable()
    /// The first line in memory of each order.
    var orderIndex = SlotTable()
    var restockRows: [RestockRow] = []
    var freeRestocks: [Int32] = []
    var restockIndex = SlotTable()
    /// Positions set by a record or loaded (rows made only to hang lines on are not).
    var positionCount = 0

    /// Tail projections of long waiting lists, by position row (`TailProjection`).
    var tails: [Int32: TailProjection] = [:]
    /// Whether a line linked into a list keeps an empty projected prefix, is put before
    /// the head at once, and joins a quiet list anywhere without a walk; and whether a
    /// quiet position is settled without one (tests turn it off to compare).
    var quickLinks = true

    var changedPositions: [Int32] = []
    var changedLines: [Int32] = []
    var changedRestocks: [Int32] = []
    /// Closed lines loaded only to be seen closed, for `committed` to drop again.
    var closedLoaded: [Int32] = []

    var earliest: Instant? = nil
    var earliestKnown = false

    /// How dates are ordered among instants (allocation, arrival order).
    public let calendar: DayCalendar

    public init(calendar: DayCalendar = DayCalendar()) { self.calendar = calendar }

    // MARK: Loading (no change marks)

    /// Makes room for a state of this size at once (before loading it), instead of
    /// growing and rehashing the tables as it comes.
    public mutating func reserve(positions: Int, lines: Int = 0, restocks: Int) {
        positionRows.reserveCapacity(positions)
        positionIndex.reserve(positions)
        lineRows.reserveCapacity(lines)
        lineIndex.reserve(lines)
        orderIndex.reserve(lines)
        restockRows.reserveCapacity(restocks)
        restockIndex.reserve(restocks)
    }

    public mutating func load(_ p: Position) {
        let r = positionRowMaking(p.key)
        guard !positionRows[Int(r)].exists else { return }
        set(p, at: r)
    }

    /// Loads a line as the state file holds it. Waiting lines join their position's list
    /// unsorted; the list is sorted once, when first used.
    public mutating func load(_ l: OrderLine) {
        guard lineRow(l.key) == nil else { return }
        noteDeadline(oldWaiting: false, oldDeadline: .min, new: l)
        let r = insertRow(l)
        if l.status == .waiting {
            let p = Int(lineRows[Int(r)].position)
            dropTail(p)
            appendWaiting(r, to: p)
            positionRows[p].unsorted = true
        }
    }

    public mutating func load(_ r: Restock) {
        guard restockRow(r.key) == nil else { return }
        _ = insertRow(r)
    }

    /// Marks a closed line loaded only for a decision to see it closed: the next
    /// `committed` after the next `takeChanges` drops it again.
    public mutating func markForEviction(_ key: LineKey) {
        if let r = lineRow(key) { closedLoaded.append(r) }
    }

    // MARK: Reading

    /// How many positions, lines and purchase order lines are in memory.
    public var counts: (positions: Int, lines: Int, restocks: Int) { (positionCount, lineIndex.count, restockIndex.count) }

    /// The position, if any record has set it.
    public func position(_ key: PositionKey) -> Position? {
        guard let r = positionRow(key), positionRows[Int(r)].exists else { return nil }
        return position(at: r)
    }

    /// The position, or a new one at `at` if no record has set it yet.
    func position(_ key: PositionKey, at: Instant) -> Position {
        position(key) ?? Position(key: key, updatedAt: at)
    }

    // No `lineRow(key).map(line(at:))`: a method value is a closure that copies the
    // working set (a retain and a release of each of its tables) on every call.
    public func line(_ key: LineKey) -> OrderLine? {
        guard let r = lineRow(key) else { return nil }
        return line(at: r)
    }

    public func restock(_ key: RestockKey) -> Restock? {
        guard let r = restockRow(key) else { return nil }
        return restock(at: r)
    }

    /// The keys of an order's lines in memory, in the order they came.
    public func lineKeys(ofOrder order: String) -> [LineKey] {
        var keys: [LineKey] = []
        var r = orderHead(order) ?? -1
        while r != -1 {
            keys.append(LineKey(order: lineRows[Int(r)].order, line: lineRows[Int(r)].line))
            r = lineRows[Int(r)].nextInOrder
        }
        return keys
    }

    /// Waiting lines of a position in allocation order: `ordered_at`, then order, then line.
    func waitingLines(of key: PositionKey) -> [OrderLine] {
        var out: [OrderLine] = []
        for r in waitingRows(of: key) { out.append(line(at: r)) }
        return out
    }

    /// The rows of `waitingLines(of:)`, sorting a list loaded in file order for good.
    mutating func waitingRowsInOrder(of key: PositionKey) -> [Int32] {
        if let p = positionRow(key), positionRows[Int(p)].unsorted { sortWaiting(Int(p)) }
        return waitingRows(of: key)
    }

    /// The rows of `waitingLines(of:)`.
    func waitingRows(of key: PositionKey) -> [Int32] {
        guard let p = positionRow(key) else { return [] }
        var rows: [Int32] = []
        var r = positionRows[Int(p)].waitHead
        while r != -1 {
            rows.append(r)
            r = lineRows[Int(r)].nextWaiting
        }
        if positionRows[Int(p)].unsorted { rows.sort { ranksBefore($0, $1) } }
        return rows
    }

    /// Open purchase orders of a position in arrival order.
    func openRestocks(of key: PositionKey) -> [Restock] {
        guard let p = positionRow(key) else { return [] }
        var out: [Restock] = []
        var r = positionRows[Int(p)].restockHead
        while r != -1 {
            if restockRows[Int(r)].status == RestockRow.open { out.append(restock(at: r)) }
            r = restockRows[Int(r)].next
        }
        // Dates count from their start in policy.timezone; at the same instant, by po.
        let cal = calendar
        return out.map { (cal.ordering($0.expectedAt).milliseconds, $0) }
            .sorted { ($0.0, $0.1.key.po) < ($1.0, $1.1.key.po) }.map(\.1)
    }

    /// Waiting lines whose deadline is at or before `now`.
    func dueLines(at now: Instant) -> [OrderLine] {
        var out: [OrderLine] = []
        for r in lineRows.indices where lineRows[r].status == LineRow.waiting {
            let d = lineRows[r].deadline
            if d != .min, d <= now.milliseconds { out.append(line(at: Int32(r))) }
        }
        return out
    }

    /// The earliest deadline of a waiting line, if any: kept up to date as lines change,
    /// and looked for among all lines only when the earliest one moved or closed.
    public mutating func nextDeadline() -> Instant? {
        if !earliestKnown {
            var least = Int64.max
            for r in lineRows.indices where lineRows[r].status == LineRow.waiting && lineRows[r].deadline != .min {
                least = min(least, lineRows[r].deadline)
            }
            earliest = least == .max ? nil : Instant(milliseconds: least)
            earliestKnown = true
        }
        return earliest
    }

    // MARK: Changing

    mutating func put(_ p: Position) {
        let r = positionRowMaking(p.key)
        if positionRows[Int(r)].exists, holds(p, at: r) { return }
        if positionRows[Int(r)].onHand != p.onHand || positionRows[Int(r)].reserved != p.reserved { dropTail(Int(r)) }
        set(p, at: r)
        markChanged(position: r)
    }

    mutating func put(_ l: OrderLine) {
        if let r = lineRow(l.key) {
            put(l, at: r)
        } else {
            noteDeadline(oldWaiting: false, oldDeadline: .min, new: l)
            let r = insertRow(l)
            if l.status == .waiting { linkWaiting(r) }
            markChanged(line: r)
        }
    }

    /// Writes a line back to its row (`r` is where `line(at:)` read it).
    mutating func put(_ l: OrderLine, at r: Int32) {
        let old = lineRows[Int(r)]
        let p = samePosition(l.position, as: old.position) ? old.position : positionRowMaking(l.position)
        let status = LineRow.code(l.status)
        if old.position == p, old.status == status, old.qty == l.qty, old.orderedAt == l.orderedAt.raw,
           old.promisedAt == l.promisedAt.raw, old.zone == l.zone, old.estimate == l._estimate, old.updatedAt == l.updatedAt.milliseconds,
           old.projected == l._projected, old.readyAt == l._readyAt, old.deadline == l._deadline,
           old.longWaitSent == l.longWaitSent, old.customer == l.customerBox {
            return
        }
        noteDeadline(oldWaiting: old.status == LineRow.waiting, oldDeadline: old.deadline, new: l)
        // A waiting line that changes changes its list's projections.
        if old.status == LineRow.waiting { dropTail(Int(old.position)) }
        let wasWaiting = old.status == LineRow.waiting, isWaiting = status == LineRow.waiting
        let moved = old.position != p || old.orderedAt != l.orderedAt.raw
        if wasWaiting, !isWaiting || moved { unlinkWaiting(r) }
        lineRows[Int(r)].position = p
        lineRows[Int(r)].status = status
        write(l, to: r)
        if isWaiting, !wasWaiting || moved { linkWaiting(r) }
        markChanged(line: r)
    }

    mutating func put(_ r: Restock) {
        let p = positionRowMaking(r.key.position)
        let hash = SlotTable.hash(r.key.po, p)
        if let row = restockIndex.find(hash, { restockRows[Int($0)].po == r.key.po && restockRows[Int($0)].position == p }) {
            let old = restockRows[Int(row)]
            if old.quantity == r.quantity, old.expectedAt == r.expectedAt.raw, old.updatedAt == r.updatedAt.milliseconds,
               old.status == RestockRow.code(r.status) {
                return
            }
            dropTail(Int(p))
            restockRows[Int(row)].quantity = r.quantity
            restockRows[Int(row)].expectedAt = r.expectedAt.raw
            restockRows[Int(row)].updatedAt = r.updatedAt.milliseconds
            restockRows[Int(row)].status = RestockRow.code(r.status)
            markChanged(restock: row)
        } else {
            dropTail(Int(p))
            markChanged(restock: insertRow(r))
        }
    }
}
