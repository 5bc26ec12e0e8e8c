/// Small integer ids for strings that repeat across many rows (SKUs, locations): each
/// string is kept once, and a row holds its 4-byte id.
struct Interner: Sendable {
    private(set) var strings: [String] = []
    private var ids: [String: Int32] = [:]

    /// The id of `s`, given a new one the first time.
    mutating func id(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(strings.count)
        strings.append(s)
        ids[s] = id
        return id
    }

    @inline(__always) subscript(id: Int32) -> String { strings[Int(id)] }

    /// Each id's place in the strings' order (by Unicode scalars: byte order for ASCII,
    /// as SQLite orders keys), so that rows sort by integer comparisons.
    func ranks() -> [Int32] {
        var rank = [Int32](repeating: 0, count: strings.count)
        for (place, id) in strings.indices.sorted(by: { strings[$0] < strings[$1] }).enumerated() {
            rank[id] = Int32(place)
        }
        return rank
    }
}
