
/// The checkpoint hand-off: what changed since the last checkpoint, taken as values to
/// write, and let go of once they are durable.
extension WorkingSet {
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
    mutating func sortByKey() {
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
    mutating func compactFreeLines() {
        var end = lineRows.count
        while end > 0, lineRows[end - 1].status == LineRow.free { end -= 1 }
        freeLines.removeAll { Int($0) >= end }
        freeLines.sort(by: >)
        guard end < lineRows.count else { return }
        lineRows.truncate(to: end)
    }
}
