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

        public init(name: String, pending: Int, inFlight: Int, dead: Int, oldestPending: Instant?, breaker: String, lastError: String?, lastErrorAt: Instant?) {
            self.name = name
            self.pending = pending
            self.inFlight = inFlight
            self.dead = dead
            self.oldestPending = oldestPending
            self.breaker = breaker
            self.lastError = lastError
            self.lastErrorAt = lastErrorAt
        }
    }

    public struct File: Sendable, Equatable {
        public var name: String
        /// How far the daemon has read, in bytes and lines.
        public var offset: Int64
        public var lines: Int64
        public var readAt: Instant

        public init(name: String, offset: Int64, lines: Int64, readAt: Instant) {
            self.name = name
            self.offset = offset
            self.lines = lines
            self.readAt = readAt
        }
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

        public init(sku: String, location: String, onHand: Int64, reserved: Int64, waitingLines: Int64, waitingUnits: Int64, nextPO: String?, nextPOExpected: Moment?, nextPOQuantity: Int64?) {
            self.sku = sku
            self.location = location
            self.onHand = onHand
            self.reserved = reserved
            self.waitingLines = waitingLines
            self.waitingUnits = waitingUnits
            self.nextPO = nextPO
            self.nextPOExpected = nextPOExpected
            self.nextPOQuantity = nextPOQuantity
        }
    }

    public var endpoints: [Endpoint]
    public var deadLetters: Int
    public var linesWaiting: Int
    public var files: [File]
    public var waiting: [WaitingPosition]

    public init(endpoints: [Endpoint], deadLetters: Int, linesWaiting: Int, files: [File], waiting: [WaitingPosition]) {
        self.endpoints = endpoints
        self.deadLetters = deadLetters
        self.linesWaiting = linesWaiting
        self.files = files
        self.waiting = waiting
    }
}
