

/// A change file's identity: device and inode, so a rename keeps its place.
public struct FileID: Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public var description: String { "\(device):\(inode)" }
}

/// How far a change file has been applied.
///
/// `offset` is the byte just after the last applied line and `line` the number of
/// lines applied. Two fingerprints tell whether the bytes already applied are still
/// there: `headHash` covers the file's first `headLength` bytes (a new file that reuses
/// a deleted file's inode), `tailHash` the `tailLength` bytes just before `offset` (a
/// file rewritten in place under the same inode, which would otherwise be read on from
/// an offset in the middle of other content). Either one differing means the file is
/// read again from the start.
public struct FileCursor: Equatable, Sendable {
    public var id: FileID
    public var name: String
    public var offset: Int64
    public var line: Int64
    public var headLength: Int
    public var headHash: UInt64
    /// Nil for a cursor written before tail fingerprints were kept (schema v8 and older):
    /// unknown, so not checked until the next batch stores one.
    public var tailHash: UInt64?

    /// How many bytes each fingerprint covers (fewer in a shorter file).
    public static let headLimit = 256
    public static let tailLimit = 256

    /// The bytes `tailHash` covers: the last `tailLimit` before the offset.
    public var tailLength: Int { Int(min(Int64(Self.tailLimit), max(0, offset))) }

    public init(id: FileID, name: String, offset: Int64 = 0, line: Int64 = 0, headLength: Int = 0,
                headHash: UInt64 = FNV1a.offsetBasis, tailHash: UInt64? = nil) {
        self.id = id
        self.name = name
        self.offset = offset
        self.line = line
        self.headLength = headLength
        self.headHash = headHash
        self.tailHash = tailHash
    }
}

/// 64-bit FNV-1a: a fast fingerprint (not a security hash).
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = offsetBasis
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
