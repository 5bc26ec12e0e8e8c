import BackorderCore

/// When the daemon writes what it decided: every `records` records or `interval`,
/// whichever comes first while catching up; at once when the inbox has caught up.
public struct CheckpointPolicy: Sendable, Equatable {
    public var records: Int
    public var interval: Span
    /// Messages for endpoints decided but not written that force a checkpoint (bounds
    /// the memory a delivery that readies tens of thousands of orders holds: about
    /// 0.8 KiB a message; messages no endpoint takes are not kept). 2,000 made a
    /// catch-up write its positions seven times as often (Benchmarks/ingest.sh).
    public var notices: Int

    public static let defaultRecords = 100_000
    public static let defaultInterval = Span.seconds(1)

    public init(records: Int = CheckpointPolicy.defaultRecords, interval: Span = CheckpointPolicy.defaultInterval,
                notices: Int = 20_000) {
        self.records = records
        self.interval = interval
        self.notices = notices
    }
}
