import BackorderCore

/// What the status page's front shows, read from the state file in one read
/// transaction: the queue per endpoint, the inbox files, the positions with the most
/// lines waiting. Every figure comes from an index, so it costs the same with 100,000
/// messages in the outbox as with ten.
public struct Overview: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var name: String
        public var pending: Int
        public var inFlight: Int
        public var dead: Int
        /// When the oldest pending message was made.
        public var oldestPending: Instant?
        public var breaker: String
        public var lastError: String?
        public var lastErrorAt: Instant?
    }

    public struct File: Sendable, Equatable {
        public var name: String
        /// How far the daemon has read, in bytes and lines.
        public var offset: Int64
        public var lines: Int64
        public var readAt: Instant
    }

    public struct WaitingPosition: Sendable, Equatable {
        public var sku: String
        public var location: String
        public var onHand: Int64
        public var reserved: Int64
        public var waitingLines: Int64
        public var waitingUnits: Int64
        /// The open purchase order expected first, if any.
        public var nextPO: String?
        public var nextPOExpected: Moment?
        public var nextPOQuantity: Int64?
    }

    public var endpoints: [Endpoint]
    public var deadLetters: Int
    public var linesWaiting: Int
    public var files: [File]
    public var waiting: [WaitingPosition]
}
