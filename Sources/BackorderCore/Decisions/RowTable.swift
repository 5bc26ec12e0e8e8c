/// A table of rows kept in chunks of 4,096 (`WorkingSet`'s positions and lines),
/// indexed by row number like an array.
///
/// An array that grows copies itself into one twice its size and holds both for the
/// copy: with 131,072 lines of 128 bytes that is 16 MiB more anonymous memory for a
/// moment, the daemon's peak while catching up (Benchmarks/README.md, "Tables in
/// chunks"). Chunks never move: the table grows a chunk at a time, and gives back the
/// chunks at its end when it shrinks.
struct RowTable<Row: Sendable>: Sendable {
    static var chunkShift: Int { 12 }
    static var chunkSize: Int { 1 << chunkShift }
    private var chunks: [[Row]] = []
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    var indices: Range<Int> { 0..<count }

    subscript(_ i: Int) -> Row {
        @inline(__always) get { chunks[i >> Self.chunkShift][i & (Self.chunkSize - 1)] }
        @inline(__always) _modify { yield &chunks[i >> Self.chunkShift][i & (Self.chunkSize - 1)] }
    }

    mutating func append(_ row: Row) {
        if count & (Self.chunkSize - 1) == 0 {
            var chunk: [Row] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[count >> Self.chunkShift].append(row)
        count += 1
    }

    /// Room for `rows` rows' chunk list (the chunks themselves come as rows are added).
    mutating func reserveCapacity(_ rows: Int) {
        chunks.reserveCapacity((rows + Self.chunkSize - 1) >> Self.chunkShift)
    }

    /// Drops the rows from `end` on; whole chunks past it are given back.
    mutating func truncate(to end: Int) {
        guard end < count else { return }
        let keep = (end + Self.chunkSize - 1) >> Self.chunkShift
        chunks.removeSubrange(keep...)
        if keep > 0 { chunks[keep - 1].removeSubrange((end - (keep - 1) * Self.chunkSize)...) }
        count = end
    }
}
