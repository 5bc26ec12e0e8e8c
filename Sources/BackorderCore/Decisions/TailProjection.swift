/// What the last settle of a long waiting list left at its end, so that lines appended
/// since can be projected without walking the ones before them.
///
/// A launch puts 100,000 pre-orders on one SKU, each appended to the end of the list: a
/// settle that walked the whole list for each would be quadratic. While nothing but
/// appends changed the position (no stock count, no purchase order, no line leaving or
/// changing), the lines before keep their projected dates and their estimates, so only
/// the appended lines need a look, taking what their predecessors left of the supply.
/// Any other change forgets the tail (`WorkingSet.dropTail`) and the next settle walks
/// the list as before; both ways decide the same (`TailProjectionTests`).
struct TailProjection: Sendable, Equatable {
    /// The supply after the last line: units left on the shelf, the next purchase order
    /// (index in arrival order) and its units left.
    var supply: Supply
    /// The earliest moment a projected date of the lines covered passes (milliseconds;
    /// `Int64.max` for none): from then on the lines before must be looked at again.
    var passAt: Int64
    /// Waiting lines covered, and how many leading ones have a projected date.
    var count: Int
    var prefix: Int
    /// The first line appended since (its row), -1 for none.
    var firstAppended: Int32 = -1

    /// Lists shorter than this are walked whole: they cost less than the bookkeeping.
    static let minimumLines = 32
}

/// What is left to allot to the next waiting line.
struct Supply: Sendable, Equatable {
    var shelf: Int64
    var restock: Int
    var restockLeft: Int64
}

extension WorkingSet {
    /// The position's tail projection, if it has one.
    func tail(_ p: Int32) -> TailProjection? { positionRows[Int(p)].hasTail ? tails[p] : nil }

    mutating func setTail(_ p: Int32, _ t: TailProjection) {
        tails[p] = t
        positionRows[Int(p)].hasTail = true
    }

    /// Forgets a position's tail projection: its next settle walks the whole list.
    @inline(__always)
    mutating func dropTail(_ p: Int) {
        guard positionRows[p].hasTail else { return }
        positionRows[p].hasTail = false
        tails[Int32(p)] = nil
    }

    /// A line was linked into a position's list: at its end, it is an append the tail can
    /// take; anywhere else, the tail is forgotten.
    mutating func noteLinked(_ r: Int32, position p: Int, atEnd: Bool) {
        guard positionRows[p].hasTail else { return }
        if atEnd {
            if tails[Int32(p)]?.firstAppended == -1 { tails[Int32(p)]?.firstAppended = r }
        } else {
            dropTail(p)
        }
    }

    /// The rows from `first` to the end of its position's waiting list.
    func rows(from first: Int32) -> [Int32] {
        var out: [Int32] = []
        var r = first
        while r != -1 {
            out.append(r)
            r = lineRows[Int(r)].nextWaiting
        }
        return out
    }
}
