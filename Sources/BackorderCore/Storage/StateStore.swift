/// Where the engine keeps its decision state: the backend seam for deciding.
///
/// The engine holds the state in memory and hands the backend what it decided, one
/// checkpoint at a time; the backend loads it back at start. `Store` (SQLite) and
/// `PostgresStore` implement it. What a backend must guarantee — `docs/ARCHITECTURE.md`, "The backend seam":
/// - `write` is atomic: the rows, the messages, the cursors and the rejects of one
///   checkpoint are all durable, or none is (a reject may be kept twice, never lost);
/// - reads see every checkpoint written before them;
/// - a message already queued (same webhook id and endpoint) is never queued again, and
///   only a message really queued replaces older ones.
///
/// Calls come from several threads and may overlap: `readWorkingSet` and `readLines` from
/// the deciding thread, `readCustomers` and `write` from the checkpoint writer's thread
/// (one write at a time, and `readCustomers` before its `write`), `loadCursors` and
/// `forget` from the inbox's thread. Only `write` changes the state tables.
public protocol StateStore: AnyObject, Sendable {
    /// Every position, every open line (without its customer) and every open purchase
    /// order, as the last checkpoint holds them; `prepare` sees each line before it is
    /// loaded. Zones are interned in `calendar`.
    func readWorkingSet(calendar: DayCalendar, preparing prepare: (inout OrderLine) -> Void) throws -> WorkingSet
    /// The stored lines among `keys`, open or closed, without their customers.
    func readLines(_ keys: [LineKey], calendar: DayCalendar) throws -> [OrderLine]
    /// The customers of the stored lines among `keys`.
    func readCustomers(of keys: [LineKey]) throws -> [LineKey: Customer]
    /// Every followed file's cursor.
    func loadCursors() throws -> [FileCursor]
    /// Forgets the cursors of files that are gone.
    func forget(_ ids: [FileID]) throws
    /// Writes one checkpoint in one transaction.
    func write(_ checkpoint: StoredCheckpoint) throws -> StoredCheckpoint.Timing
}
