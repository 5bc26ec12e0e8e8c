import BackorderCore

/// When the daemon writes what it decided: every `records` records or `interval`,
/// whichever comes first while catching up; at once when the inbox has caught up.
public struct CheckpointPolicy: Sendable, Equatable {
    public var records: Int
    public var interval: Span
    /// Messages decided but not written that force a checkpoint (bounds the memory a
    /// delivery that readies thousands of orders holds).
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
