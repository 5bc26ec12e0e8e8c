/// The rows a checkpoint writes, as values taken out of a `WorkingSet`
/// (`WorkingSet.takeChanges()`): the working set moves on while they are written.
///
/// Once they are durable, `WorkingSet.committed(_:)` drops what memory no longer needs
/// (closed lines and purchase orders, customers the rows now hold). A write that failed
/// is retried with the next one: `append` keeps both in order, the later value of a row
/// written last.
public struct RowChanges: Sendable {
    public internal(set) var positions: [Position] = []
    public internal(set) var lines: [OrderLine] = []
    public internal(set) var restocks: [Restock] = []
    /// The working set's rows these came from, for `committed(_:)`.
    var lineRows: [Int32] = []
    var restockRows: [Int32] = []

    public init() {}

    public var isEmpty: Bool { positions.isEmpty && lines.isEmpty && restocks.isEmpty && lineRows.isEmpty }

    /// The row references alone, for `committed(_:)` once written: the values' memory
    /// can go.
    public var rowsOnly: RowChanges {
        var out = RowChanges()
        out.lineRows = lineRows
        out.restockRows = restockRows
        return out
    }

    /// Adds a later set of changes after these.
    public mutating func append(_ later: RowChanges) {
        positions += later.positions
        lines += later.lines
        restocks += later.restocks
        lineRows += later.lineRows
        restockRows += later.restockRows
    }
}
