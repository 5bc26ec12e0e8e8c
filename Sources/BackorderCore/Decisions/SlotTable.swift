/// An open-addressing hash index of table rows: each slot holds a row number and the
/// row key's 32-bit hash, nothing else — the keys live once, in the rows.
///
/// 8 bytes a slot, at most three quarters full; linear probing, and removal by shifting
/// the rest of the run back (no tombstones), so lookups stay short however long the
/// daemon runs. The owner hashes a key and says whether a row matches it.
struct SlotTable: Sendable {
    /// `0` is empty; otherwise the hash in the high half and the row + 1 in the low half.
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 0) {
        let size = Self.size(for: capacity)
        slots = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// The smallest power of two that holds `count` rows at most three quarters full.
    private static func size(for count: Int) -> Int {
        var size = 16
        while size / 4 * 3 < count { size *= 2 }
        return size
    }

    @inline(__always) private static func row(_ slot: UInt64) -> Int32 { Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1 }
    @inline(__always) private static func hash(_ slot: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: slot >> 32) }
    @inline(__always) private static func slot(_ hash: UInt32, _ row: Int32) -> UInt64 {
        UInt64(hash) << 32 | UInt64(UInt32(bitPattern: row + 1))
    }

    /// The row whose key has this hash and for which `matches` says yes.
    @inline(__always)
    func find(_ hash: UInt32, _ matches: (Int32) -> Bool) -> Int32? {
        var walk = candidates(hash)
        while let r = next(&walk) {
            if matches(r) { return r }
        }
        return nil
    }

    /// A walk over the rows stored with one hash, for an owner that checks each one's
    /// key itself: `var w = candidates(h); while let r = next(&w) { … }`. The hot
    /// lookups use it rather than `find`, whose closure would capture (copy) the owner.
    struct Candidates {
        fileprivate var i: Int
        fileprivate let hash: UInt32
    }

    @inline(__always) func candidates(_ hash: UInt32) -> Candidates { Candidates(i: Int(hash) & mask, hash: hash) }

    /// The next row stored with the walk's hash, or nil at the end of the run.
    @inline(__always)
    func next(_ walk: inout Candidates) -> Int32? {
        while true {
            let s = slots[walk.i]
            if s == 0 { return nil }
            walk.i = (walk.i + 1) & mask
            if Self.hash(s) == walk.hash { return Self.row(s) }
        }
    }

    /// Adds a row (its key must not be in the table yet).
    mutating func insert(_ hash: UInt32, row: Int32) {
        if (count + 1) > (mask + 1) / 4 * 3 { grow(to: (mask + 1) * 2) }
        place(Self.slot(hash, row))
        count += 1
    }

    /// Makes room for `count` rows without growing again.
    mutating func reserve(_ count: Int) {
        let size = Self.size(for: count)
        if size > mask + 1 { grow(to: size) }
    }

    /// Points the slot of `old` (with this hash) at `new` instead.
    mutating func replace(_ hash: UInt32, row old: Int32, with new: Int32) {
        guard let i = index(of: old, hash) else { return }
        slots[i] = Self.slot(hash, new)
    }

    /// Removes a row, then moves later entries of the run back so no lookup stops early.
    mutating func remove(_ hash: UInt32, row: Int32) {
        guard var hole = index(of: row, hash) else { return }
        slots[hole] = 0
        count -= 1
        var j = hole
        while true {
            j = (j + 1) & mask
            let s = slots[j]
            if s == 0 { return }
            let home = Int(Self.hash(s)) & mask
            // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !stays {
                slots[hole] = s
                slots[j] = 0
                hole = j
            }
        }
    }

    private func index(of row: Int32, _ hash: UInt32) -> Int? {
        let wanted = Self.slot(hash, row)
        var i = Int(hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s == wanted { return i }
            i = (i + 1) & mask
        }
    }

    private mutating func place(_ slot: UInt64) {
        var i = Int(Self.hash(slot)) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow(to size: Int) {
        let old = slots
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        for s in old where s != 0 { place(s) }
    }
}

/// The keys' hashes: FNV-1a over the UTF-8 bytes from a seed drawn at start, each
/// part closed by 0xFF (a byte UTF-8 never holds, so ("ab", "c") and ("a", "bc")
/// differ), then MurmurHash3's finalizer so the low bits (the slot) depend on every
/// byte. A third of the cost of `Hasher` (SipHash) on SKUs and order ids of ten-odd
/// bytes; the hashes live in memory only, and the seed keeps them unpredictable.
extension SlotTable {
    private static let seed = UInt64.random(in: .min ... .max) | 1
    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    @inline(__always)
    private static func mix(_ h: inout UInt64, _ s: String) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* prime }
        }
        if done == nil { for b in s.utf8 { h = (h ^ UInt64(b)) &* prime } }
        h = (h ^ 0xFF) &* prime
    }

    @inline(__always)
    private static func finish(_ h: UInt64) -> UInt32 {
        var x = h
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return UInt32(truncatingIfNeeded: x)
    }

    /// The hash of a two-part key (a position, an order line).
    @inline(__always)
    static func hash(_ a: String, _ b: String) -> UInt32 {
        var h = seed
        mix(&h, a)
        mix(&h, b)
        return finish(h)
    }

    /// The hash of an order id.
    @inline(__always)
    static func hash(_ a: String) -> UInt32 {
        var h = seed
        mix(&h, a)
        return finish(h)
    }

    /// The hash of a purchase order id at a position row.
    @inline(__always)
    static func hash(_ a: String, _ row: Int32) -> UInt32 {
        var h = seed
        mix(&h, a)
        return finish(h ^ UInt64(UInt32(bitPattern: row)) &* 0x9E37_79B9_7F4A_7C15)
    }
}
