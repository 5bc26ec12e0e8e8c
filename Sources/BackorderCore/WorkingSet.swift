/// The decision state the `Decider` works on: positions, order lines and purchase
/// orders, with the indexes allocation needs and marks on what changed.
///
/// The store keeps one in memory for the daemon's life: every position, every open line
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
    private(set) var positionCount = 0

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
    private var closedLoaded: [Int32] = []

    private var earliest: Instant? = nil
    private var earliestKnown = false

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

    // MARK: Checkpoints

    /// Whether anything changed since the last `takeChanges`.
    public var hasChanges: Bool { !changedPositions.isEmpty || !changedLines.isEmpty || !changedRestocks.isEmpty }

    /// Takes what changed since the last call, as values for a checkpoint to write, and
    /// starts over. Nothing is dropped from memory until `committed(_:)` says they are
    /// durable.
    public mutating func takeChanges() -> RowChanges {
        var out = RowChanges()
        sortByKey()
        out.positions.reserveCapacity(changedPositions.count)
        for r in changedPositions {
            positionRows[Int(r)].dirty = false
            if positionRows[Int(r)].exists { out.positions.append(position(at: r)) }
        }
        out.lines.reserveCapacity(changedLines.count)
        for r in changedLines {
            lineRows[Int(r)].dirty = false
            out.lines.append(line(at: r))
        }
        out.restocks.reserveCapacity(changedRestocks.count)
        for r in changedRestocks {
            restockRows[Int(r)].dirty = false
            out.restocks.append(restock(at: r))
        }
        out.lineRows = changedLines + closedLoaded
        out.restockRows = changedRestocks
        let keep = 16_384
        changedPositions.removeAll(keepingCapacity: changedPositions.count <= keep)
        changedLines.removeAll(keepingCapacity: changedLines.count <= keep)
        changedRestocks.removeAll(keepingCapacity: changedRestocks.count <= keep)
        closedLoaded.removeAll()
        return out
    }

    /// Puts the changed rows in their keys' order (byte order, as SQLite's keys are):
    /// written in that order, each row's B-tree search lands next to the last one, in
    /// pages already in the cache (Benchmarks/README.md, "Rows in key order"). Done here,
    /// where only the row numbers move: the writer would have to sort copies of the rows
    /// (5 MiB more at the peak).
    private mutating func sortByKey() {
        if skuRanks.count != skus.strings.count { skuRanks = skus.ranks() }
        if locationRanks.count != locations.strings.count { locationRanks = locations.ranks() }
        let positionRows = self.positionRows, skuRanks = self.skuRanks, locationRanks = self.locationRanks
        changedPositions.sort { a, b in
            let x = positionRows[Int(a)], y = positionRows[Int(b)]
            let (xs, ys) = (skuRanks[Int(x.sku)], skuRanks[Int(y.sku)])
            return xs != ys ? xs < ys : locationRanks[Int(x.location)] < locationRanks[Int(y.location)]
        }
        let lineRows = self.lineRows
        changedLines.sort { a, b in
            let (x, y) = (lineRows[Int(a)], lineRows[Int(b)])
            return x.order != y.order ? x.order < y.order : x.line < y.line
        }
    }

    /// Changes taken by `takeChanges` are durable: closed lines and closed purchase
    /// orders among them leave memory (the decisions never need them again, and the state
    /// file keeps them; their rows are reused), and so do the customers of lines that
    /// have not changed since (messages read them back from the rows).
    public mutating func committed(_ changes: RowChanges) {
        for r in changes.lineRows where Int(r) < lineRows.count {
            let row = lineRows[Int(r)]
            if row.status == LineRow.free || row.dirty { continue }
            if row.isOpen {
                if row.customer != nil { lineRows[Int(r)].customer = nil }
                continue
            }
            lineIndex.remove(SlotTable.hash(row.order, row.line), row: r)
            unlinkFromOrder(r)
            lineRows[Int(r)] = LineRow(order: "", line: "", customer: nil, qty: 0, orderedAt: 0, promisedAt: 0, estimate: 0,
                                       updatedAt: 0, projected: 0, readyAt: 0, deadline: 0, position: -1,
                                       status: LineRow.free, longWaitSent: false)
            freeLines.append(r)
        }
        for r in changes.restockRows where Int(r) < restockRows.count {
            let row = restockRows[Int(r)]
            guard row.status != RestockRow.free, row.status != RestockRow.open, !row.dirty else { continue }
            restockIndex.remove(SlotTable.hash(row.po, row.position), row: r)
            let p = Int(row.position)
            if positionRows[p].restockHead == r {
                positionRows[p].restockHead = row.next
            } else {
                var prev = positionRows[p].restockHead
                while prev != -1, restockRows[Int(prev)].next != r { prev = restockRows[Int(prev)].next }
                if prev != -1 { restockRows[Int(prev)].next = row.next }
            }
            restockRows[Int(r)] = RestockRow(po: "", quantity: 0, expectedAt: 0, updatedAt: 0, position: -1, status: RestockRow.free)
            freeRestocks.append(r)
        }
        if freeLines.count > 16_384, freeLines.count * 2 > lineRows.count { compactFreeLines() }
    }

    /// Keeps free rows from pinning memory once most lines closed (a burst of orders
    /// shipped): the free rows at the end are given back, and the lowest free rows are
    /// reused first so the end stays free.
    private mutating func compactFreeLines() {
        var end = lineRows.count
        while end > 0, lineRows[end - 1].status == LineRow.free { end -= 1 }
        freeLines.removeAll { Int($0) >= end }
        freeLines.sort(by: >)
        guard end < lineRows.count else { return }
        lineRows.truncate(to: end)
    }
}

// MARK: - Rows

extension WorkingSet {
    @inline(__always)
    func positionRow(_ key: PositionKey) -> Int32? {
        var walk = positionIndex.candidates(SlotTable.hash(key.sku, key.location))
        while let r = positionIndex.next(&walk) {
            let row = positionRows[Int(r)]
            if skus[row.sku] == key.sku && locations[row.location] == key.location { return r }
        }
        return nil
    }

    /// The position's row, made (not yet existing) if there is none.
    mutating func positionRowMaking(_ key: PositionKey) -> Int32 {
        if let r = positionRow(key) { return r }
        let r = Int32(positionRows.count)
        positionRows.append(PositionRow(sku: skus.id(key.sku), location: locations.id(key.location)))
        positionIndex.insert(SlotTable.hash(key.sku, key.location), row: r)
        return r
    }

    @inline(__always)
    func samePosition(_ key: PositionKey, as r: Int32) -> Bool {
        let row = positionRows[Int(r)]
        return skus[row.sku] == key.sku && locations[row.location] == key.location
    }

    func positionKey(_ r: Int32) -> PositionKey {
        let row = positionRows[Int(r)]
        return PositionKey(sku: skus[row.sku], location: locations[row.location])
    }

    func position(at r: Int32) -> Position {
        let row = positionRows[Int(r)]
        var p = Position(key: positionKey(r), onHand: row.onHand, reserved: row.reserved,
                         updatedAt: Instant(milliseconds: row.updatedAt))
        p.alertArmed = row.alertArmed
        p.alertsFired = AlertSet(rawValue: Int64(row.alertsFired))
        p.alertCount = row.alertCount
        p.waitingLines = row.waitingLines
        p.openRestocks = row.openRestocks
        return p
    }

    private func holds(_ p: Position, at r: Int32) -> Bool {
        let row = positionRows[Int(r)]
        return row.onHand == p.onHand && row.reserved == p.reserved && row.updatedAt == p.updatedAt.milliseconds
            && row.alertArmed == p.alertArmed && Int64(row.alertsFired) == p.alertsFired.rawValue
            && row.alertCount == p.alertCount && row.waitingLines == p.waitingLines && row.openRestocks == p.openRestocks
    }

    private mutating func set(_ p: Position, at r: Int32) {
        if !positionRows[Int(r)].exists {
            positionRows[Int(r)].exists = true
            positionCount += 1
        }
        positionRows[Int(r)].onHand = p.onHand
        positionRows[Int(r)].reserved = p.reserved
        positionRows[Int(r)].updatedAt = p.updatedAt.milliseconds
        positionRows[Int(r)].alertArmed = p.alertArmed
        positionRows[Int(r)].alertsFired = UInt8(truncatingIfNeeded: p.alertsFired.rawValue)
        positionRows[Int(r)].alertCount = p.alertCount
        positionRows[Int(r)].waitingLines = p.waitingLines
        positionRows[Int(r)].openRestocks = p.openRestocks
    }

    /// How many leading waiting lines of a position had a projected date at its last
    /// settle, if known.
    /// How many lines wait at a position (its list's length), without a walk.
    func listed(_ p: Int32) -> Int { Int(positionRows[Int(p)].listed) }

    /// Whether a position has an open purchase order line, without building the list.
    func hasOpenRestock(_ p: Int32) -> Bool {
        var r = positionRows[Int(p)].restockHead
        while r != -1 {
            if restockRows[Int(r)].status == RestockRow.open { return true }
            r = restockRows[Int(r)].next
        }
        return false
    }

    func projectedPrefix(_ p: Int32) -> Int? {
        let n = positionRows[Int(p)].projectedPrefix
        return n < 0 ? nil : Int(n)
    }

    mutating func setProjectedPrefix(_ p: Int32, _ n: Int) { positionRows[Int(p)].projectedPrefix = Int32(clamping: n) }

    @inline(__always)
    func lineRow(_ key: LineKey) -> Int32? {
        var walk = lineIndex.candidates(SlotTable.hash(key.order, key.line))
        while let r = lineIndex.next(&walk) {
            if lineRows[Int(r)].order == key.order && lineRows[Int(r)].line == key.line { return r }
        }
        return nil
    }

    func line(at r: Int32) -> OrderLine {
        let row = lineRows[Int(r)]
        var l = OrderLine(key: LineKey(order: row.order, line: row.line), position: positionKey(row.position), qty: row.qty,
                          orderedAt: Moment(raw: row.orderedAt), promisedAt: Moment(raw: row.promisedAt),
                          estimate: nil, status: LineRow.status(row.status), customer: nil,
                          updatedAt: Instant(milliseconds: row.updatedAt), zone: row.zone)
        l._estimate = row.estimate
        l._projected = row.projected
        l._readyAt = row.readyAt
        l._deadline = row.deadline
        l.customerBox = row.customer
        l.longWaitSent = row.longWaitSent
        return l
    }

    func qty(at r: Int32) -> Int64 { lineRows[Int(r)].qty }

    private mutating func write(_ l: OrderLine, to r: Int32) {
        lineRows[Int(r)].qty = l.qty
        lineRows[Int(r)].orderedAt = l.orderedAt.raw
        lineRows[Int(r)].promisedAt = l.promisedAt.raw
        lineRows[Int(r)].zone = l.zone
        lineRows[Int(r)].estimate = l._estimate
        lineRows[Int(r)].updatedAt = l.updatedAt.milliseconds
        lineRows[Int(r)].projected = l._projected
        lineRows[Int(r)].readyAt = l._readyAt
        lineRows[Int(r)].deadline = l._deadline
        lineRows[Int(r)].longWaitSent = l.longWaitSent
        lineRows[Int(r)].customer = l.customerBox
    }

    /// A new row for a line not in memory, indexed and appended to its order.
    private mutating func insertRow(_ l: OrderLine) -> Int32 {
        let p = positionRowMaking(l.position)
        let row = LineRow(order: l.key.order, line: l.key.line, customer: l.customerBox, qty: l.qty,
                          orderedAt: l.orderedAt.raw, promisedAt: l.promisedAt.raw, estimate: l._estimate,
                          updatedAt: l.updatedAt.milliseconds, projected: l._projected, readyAt: l._readyAt,
                          deadline: l._deadline, position: p, status: LineRow.code(l.status), longWaitSent: l.longWaitSent,
                          zone: l.zone)
        let r: Int32
        if let free = freeLines.popLast() {
            r = free
            lineRows[Int(r)] = row
        } else {
            r = Int32(lineRows.count)
            lineRows.append(row)
        }
        lineIndex.insert(SlotTable.hash(l.key.order, l.key.line), row: r)
        let orderHash = SlotTable.hash(l.key.order)
        if let head = orderIndex.find(orderHash, { lineRows[Int($0)].order == l.key.order }) {
            var tail = head
            while lineRows[Int(tail)].nextInOrder != -1 { tail = lineRows[Int(tail)].nextInOrder }
            lineRows[Int(tail)].nextInOrder = r
        } else {
            orderIndex.insert(orderHash, row: r)
        }
        return r
    }

    private func orderHead(_ order: String) -> Int32? {
        var walk = orderIndex.candidates(SlotTable.hash(order))
        while let r = orderIndex.next(&walk) {
            if lineRows[Int(r)].order == order { return r }
        }
        return nil
    }

    private mutating func unlinkFromOrder(_ r: Int32) {
        let order = lineRows[Int(r)].order
        let hash = SlotTable.hash(order)
        guard let head = orderIndex.find(hash, { lineRows[Int($0)].order == order }) else { return }
        let next = lineRows[Int(r)].nextInOrder
        if head == r {
            if next == -1 { orderIndex.remove(hash, row: r) } else { orderIndex.replace(hash, row: r, with: next) }
        } else {
            var prev = head
            while prev != -1, lineRows[Int(prev)].nextInOrder != r { prev = lineRows[Int(prev)].nextInOrder }
            if prev != -1 { lineRows[Int(prev)].nextInOrder = next }
        }
        lineRows[Int(r)].nextInOrder = -1
    }

    /// Allocation order: `ordered_at`, then order, then line.
    @inline(__always)
    func ranksBefore(_ a: Int32, _ b: Int32) -> Bool {
        let x = lineRows[Int(a)], y = lineRows[Int(b)]
        if x.orderedAt != y.orderedAt {
            // Dates count from their start in policy.timezone (instants pass as they are).
            let a = calendar.ordering(raw: x.orderedAt), b = calendar.ordering(raw: y.orderedAt)
            if a != b { return a < b }
            return x.orderedAt < y.orderedAt
        }
        return (x.order, x.line) < (y.order, y.line)
    }

    /// Puts a line that starts waiting into its position's list, in allocation order
    /// (looking from the end: a new order is usually the latest).
    private mutating func linkWaiting(_ r: Int32) {
        let p = Int(lineRows[Int(r)].position)
        // A list none of whose lines has a projected date keeps that count (0) when a line
        // without one joins it; otherwise the next settle walks the list.
        let quiet = quickLinks && positionRows[p].projectedPrefix == 0 && lineRows[Int(r)].projected == .min
        // Into such a list a line that belongs anywhere but at an end is appended and
        // the list left unsorted: a launch whose order ids do not sort as they arrive
        // ("O9999" after "O10000") would otherwise walk the list for each line. The
        // list is sorted once, by the first walk that needs its order.
        if quiet, positionRows[p].waitHead != -1,
           positionRows[p].unsorted || ranksBefore(r, positionRows[p].waitTail) && !ranksBefore(r, positionRows[p].waitHead) {
            dropTail(p)
            appendWaiting(r, to: p)
            positionRows[p].unsorted = true
            return
        }
        if positionRows[p].unsorted { sortWaiting(p) }
        if !quiet { positionRows[p].projectedPrefix = -1 }
        var after = positionRows[p].waitTail
        // Before the head: at once (a feed written newest first); else from the end.
        if quickLinks, positionRows[p].waitHead != -1, ranksBefore(r, positionRows[p].waitHead) {
            after = -1
        } else {
            while after != -1, ranksBefore(r, after) { after = lineRows[Int(after)].prevWaiting }
        }
        let next = after == -1 ? positionRows[p].waitHead : lineRows[Int(after)].nextWaiting
        lineRows[Int(r)].prevWaiting = after
        lineRows[Int(r)].nextWaiting = next
        if after == -1 { positionRows[p].waitHead = r } else { lineRows[Int(after)].nextWaiting = r }
        if next == -1 { positionRows[p].waitTail = r } else { lineRows[Int(next)].prevWaiting = r }
        positionRows[p].listed += 1
        noteLinked(r, position: p, atEnd: next == -1)
    }

    private mutating func appendWaiting(_ r: Int32, to p: Int) {
        let tail = positionRows[p].waitTail
        lineRows[Int(r)].prevWaiting = tail
        lineRows[Int(r)].nextWaiting = -1
        if tail == -1 { positionRows[p].waitHead = r } else { lineRows[Int(tail)].nextWaiting = r }
        positionRows[p].waitTail = r
        positionRows[p].listed += 1
    }

    /// Takes a line that stops waiting (or moves) out of its position's list.
    private mutating func unlinkWaiting(_ r: Int32) {
        let p = Int(lineRows[Int(r)].position)
        // A list none of whose lines has a projected date still has none when one leaves
        // (a cancelled pre-order in a quiet launch needs no walk); otherwise the next
        // settle walks it.
        if positionRows[p].projectedPrefix != 0 { positionRows[p].projectedPrefix = -1 }
        dropTail(p)
        let prev = lineRows[Int(r)].prevWaiting, next = lineRows[Int(r)].nextWaiting
        if prev == -1 { positionRows[p].waitHead = next } else { lineRows[Int(prev)].nextWaiting = next }
        if next == -1 { positionRows[p].waitTail = prev } else { lineRows[Int(next)].prevWaiting = prev }
        lineRows[Int(r)].prevWaiting = -1
        lineRows[Int(r)].nextWaiting = -1
        positionRows[p].listed -= 1
    }

    /// Sorts a waiting list loaded in file order.
    mutating func sortWaiting(_ p: Int) {
        var rows: [Int32] = []
        var r = positionRows[p].waitHead
        while r != -1 {
            rows.append(r)
            r = lineRows[Int(r)].nextWaiting
        }
        rows.sort { ranksBefore($0, $1) }
        dropTail(p)
        positionRows[p].waitHead = -1
        positionRows[p].waitTail = -1
        positionRows[p].listed = 0
        for r in rows { appendWaiting(r, to: p) }
        positionRows[p].unsorted = false
    }

    func restockRow(_ key: RestockKey) -> Int32? {
        guard let p = positionRow(key.position) else { return nil }
        var walk = restockIndex.candidates(SlotTable.hash(key.po, p))
        while let r = restockIndex.next(&walk) {
            if restockRows[Int(r)].po == key.po && restockRows[Int(r)].position == p { return r }
        }
        return nil
    }

    func restock(at r: Int32) -> Restock {
        let row = restockRows[Int(r)]
        return Restock(key: RestockKey(po: row.po, position: positionKey(row.position)), quantity: row.quantity,
                       expectedAt: Moment(raw: row.expectedAt), status: RestockRow.status(row.status),
                       updatedAt: Instant(milliseconds: row.updatedAt))
    }

    /// A new row for a purchase order line, indexed and put on its position's list.
    private mutating func insertRow(_ r: Restock) -> Int32 {
        let p = positionRowMaking(r.key.position)
        let row = RestockRow(po: r.key.po, quantity: r.quantity, expectedAt: r.expectedAt.raw,
                             updatedAt: r.updatedAt.milliseconds, position: p, next: positionRows[Int(p)].restockHead,
                             status: RestockRow.code(r.status))
        let n: Int32
        if let free = freeRestocks.popLast() {
            n = free
            restockRows[Int(n)] = row
        } else {
            n = Int32(restockRows.count)
            restockRows.append(row)
        }
        positionRows[Int(p)].restockHead = n
        restockIndex.insert(SlotTable.hash(r.key.po, p), row: n)
        return n
    }

    private mutating func markChanged(position r: Int32) {
        guard !positionRows[Int(r)].dirty else { return }
        positionRows[Int(r)].dirty = true
        changedPositions.append(r)
    }

    private mutating func markChanged(line r: Int32) {
        guard !lineRows[Int(r)].dirty else { return }
        lineRows[Int(r)].dirty = true
        changedLines.append(r)
    }

    private mutating func markChanged(restock r: Int32) {
        guard !restockRows[Int(r)].dirty else { return }
        restockRows[Int(r)].dirty = true
        changedRestocks.append(r)
    }

    private mutating func noteDeadline(oldWaiting: Bool, oldDeadline: Int64, new l: OrderLine) {
        guard earliestKnown else { return }
        if oldWaiting, oldDeadline != .min, Instant(milliseconds: oldDeadline) == earliest,
           !(l.status == .waiting && l.deadline.map { $0.milliseconds <= oldDeadline } ?? false) {
            earliestKnown = false  // the earliest one moved later or stopped waiting
            return
        }
        if l.status == .waiting, let d = l.deadline, earliest.map({ d < $0 }) ?? true { earliest = d }
    }
}
