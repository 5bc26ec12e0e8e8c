/// Read-only views of a working set keyed like dictionaries, for tests, checks and
/// reports. The decision pass itself reads rows (`line(at:)`, `position(at:)`).
extension WorkingSet {
    public var positions: PositionsView { PositionsView(ws: self) }
    public var lines: LinesView { LinesView(ws: self) }
    public var restocks: RestocksView { RestocksView(ws: self) }

    /// Every position a record has set.
    public struct PositionsView: Sequence, Equatable {
        let ws: WorkingSet
        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
        public var dictionary: [PositionKey: Position] { Dictionary(uniqueKeysWithValues: Array(self)) }
        public subscript(key: PositionKey) -> Position? { ws.position(key) }
        public var count: Int { ws.counts.positions }
        public func makeIterator() -> IndexingIterator<[(key: PositionKey, value: Position)]> {
            ws.positionRows.indices.filter { ws.positionRows[$0].exists }
                .map { (key: ws.positionKey(Int32($0)), value: ws.position(at: Int32($0))) }.makeIterator()
        }
    }

    /// Every line in memory: the open ones, and those closed since the last checkpoint.
    public struct LinesView: Sequence, Equatable {
        let ws: WorkingSet
        public subscript(key: LineKey) -> OrderLine? { ws.line(key) }
        public var count: Int { ws.counts.lines }
        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
        public var dictionary: [LineKey: OrderLine] { Dictionary(uniqueKeysWithValues: Array(self)) }
        public func makeIterator() -> IndexingIterator<[(key: LineKey, value: OrderLine)]> {
            values.map { (key: $0.key, value: $0) }.makeIterator()
        }
        public var values: [OrderLine] {
            ws.lineRows.indices.filter { ws.lineRows[$0].status != LineRow.free }.map { ws.line(at: Int32($0)) }
        }
    }

    /// Every purchase order line in memory.
    public struct RestocksView {
        let ws: WorkingSet
        public subscript(key: RestockKey) -> Restock? { ws.restock(key) }
        public var count: Int { ws.counts.restocks }
    }
}
