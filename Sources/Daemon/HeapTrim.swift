import Foundation

/// glibc's heap keeps freed memory once its trim threshold has grown: the default
/// threshold rises to the largest block freed (here, checkpoint-sized arrays) and then
/// leaves tens of MiB resident. A fixed 1 MiB gives it back (Benchmarks/ingest.sh: peak
/// RssAnon 111 → 97 MiB at the same speed, same session).
enum HeapTrim {
    /// `M_TRIM_THRESHOLD` in `<malloc.h>`, which Swift's Glibc module does not export.
    private static let trimThreshold: Int32 = -1

    /// Sets the threshold; false if this C library has no `mallopt` or refused it.
    @discardableResult
    static func configure(bytes: Int32 = 1 << 20) -> Bool {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // RTLD_DEFAULT (a null handle): look the symbol up in the process, where glibc has it.
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        return unsafeBitCast(symbol, to: Mallopt.self)(trimThreshold, bytes) == 1
    }
}
