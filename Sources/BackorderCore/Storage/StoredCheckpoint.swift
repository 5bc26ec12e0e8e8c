/// What one checkpoint hands the backend to write in one transaction: the rows the
/// decisions changed, the messages they made (rendered, with their ids and endpoints),
/// each file's cursor and the refused lines. The backend stores it as given: it decides
/// nothing.
public struct StoredCheckpoint: Sendable {
    public var rows: RowChanges
    public var messages: [QueuedMessage]
    public var cursors: [(cursor: FileCursor, at: Instant)]
    public var rejects: [Reject]
    /// When the messages are queued (and first due), and the rejects' time.
    public var now: Instant

    public init(rows: RowChanges, messages: [QueuedMessage], cursors: [(cursor: FileCursor, at: Instant)], rejects: [Reject],
                now: Instant) {
        self.rows = rows
        self.messages = messages
        self.cursors = cursors
        self.rejects = rejects
        self.now = now
    }

    /// Where a write's time went, for the `checkpoint` debug line.
    public struct Timing: Sendable {
        public var rows: Duration
        public var queue: Duration
        public var commit: Duration

        public init(rows: Duration, queue: Duration, commit: Duration) {
            self.rows = rows
            self.queue = queue
            self.commit = commit
        }
    }
}
