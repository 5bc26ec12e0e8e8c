
/// The row plumbing: rows found by key, values read from and written to rows, the
/// linked lists of an order's lines and of a position's waiting lines.
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

    func holds(_ p: Position, at r: Int32) -> Bool {
        let row = positionRows[Int(r)]
        return row.onHand == p.onHand && row.reserved == p.reserved && row.updatedAt == p.updatedAt.milliseconds
            && row.alertArmed == p.alertArmed && Int64(row.alertsFired) == p.alertsFired.rawValue
            && row.alertCount == p.alertCount && row.waitingLines == p.waitingLines && row.openRestocks == p.openRestocks
    }

    mutating func set(_ p: Position, at r: Int32) {
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

    mutating func write(_ l: OrderLine, to r: Int32) {
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
    mutating func insertRow(_ l: OrderLine) -> Int32 {
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

    func orderHead(_ order: String) -> Int32? {
        var walk = orderIndex.candidates(SlotTable.hash(order))
        while let r = orderIndex.next(&walk) {
            if lineRows[Int(r)].order == order { return r }
        }
        return nil
    }

    mutating func unlinkFromOrder(_ r: Int32) {
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
    mutating func linkWaiting(_ r: Int32) {
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

    mutating func appendWaiting(_ r: Int32, to p: Int) {
        let tail = positionRows[p].waitTail
        lineRows[Int(r)].prevWaiting = tail
        lineRows[Int(r)].nextWaiting = -1
        if tail == -1 { positionRows[p].waitHead = r } else { lineRows[Int(tail)].nextWaiting = r }
        positionRows[p].waitTail = r
        positionRows[p].listed += 1
    }

    /// Takes a line that stops waiting (or moves) out of its position's list.
    mutating func unlinkWaiting(_ r: Int32) {
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
    mutating func insertRow(_ r: Restock) -> Int32 {
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

    mutating func markChanged(position r: Int32) {
        guard !positionRows[Int(r)].dirty else { return }
        positionRows[Int(r)].dirty = true
        changedPositions.append(r)
    }

    mutating func markChanged(line r: Int32) {
        guard !lineRows[Int(r)].dirty else { return }
        lineRows[Int(r)].dirty = true
        changedLines.append(r)
    }

    mutating func markChanged(restock r: Int32) {
        guard !restockRows[Int(r)].dirty else { return }
        restockRows[Int(r)].dirty = true
        changedRestocks.append(r)
    }

    mutating func noteDeadline(oldWaiting: Bool, oldDeadline: Int64, new l: OrderLine) {
        guard earliestKnown else { return }
        if oldWaiting, oldDeadline != .min, Instant(milliseconds: oldDeadline) == earliest,
           !(l.status == .waiting && l.deadline.map { $0.milliseconds <= oldDeadline } ?? false) {
            earliestKnown = false  // the earliest one moved later or stopped waiting
            return
        }
        if l.status == .waiting, let d = l.deadline, earliest.map({ d < $0 }) ?? true { earliest = d }
    }
}
