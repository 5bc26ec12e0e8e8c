import CSQLiteConfig

/// SQLite's settings for the whole process, applied once, before the first connection.
///
/// SQLite keeps memory statistics by default, behind a global mutex taken on every
/// allocation it makes — and Debian's build omits the lookaside allocator, so a
/// checkpoint makes millions of them. Nothing here reads the statistics (no soft heap
/// limit, no `sqlite3_memory_used`). Turned off, the checkpoint writer spends about 13 %
/// less time per checkpoint (Benchmarks/README.md, "SQLite's memory statistics").
enum SQLiteProcess {
    /// True if the settings took; false if SQLite was in use before the first `Store`
    /// (then it keeps its defaults: slower, never wrong).
    static let configured: Bool = csqlite_disable_memstatus() == 0
}
