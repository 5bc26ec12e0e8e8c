

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
/// lines applied. `headHash` fingerprints the file's first `headLength` bytes so that a
/// new file that happens to reuse a deleted file's inode is read from the start.
public struct FileCursor: Equatable, Sendable {
    public var id: FileID
    public var name: String
    public var offset: Int64
    public var line: Int64
    public var headLength: Int
    public var headHash: UInt64

    public static let headLimit = 256

    public init(id: FileID, name: String, offset: Int64 = 0, line: Int64 = 0, headLength: Int = 0, headHash: UInt64 = FNV1a.offsetBasis) {
        self.id = id
        self.name = name
        self.offset = offset
        self.line = line
        self.headLength = headLength
        self.headHash = headHash
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
