/// What the daemon's state says at one moment: the one read model behind the status
/// page, `/metrics` and `backorderd status`, each of which renders it its own way.
///
/// Read in one read transaction. `Scope.indexed` takes only figures an index gives (the
/// page and `/metrics`: their cost grows with the live queue, never with the history);
/// `Scope.full` adds the counts that walk the history — lines by status, messages
/// delivered and superseded per endpoint — and the next deadline.
public struct StatusReport: Sendable, Equatable {
    public enum Scope: Sendable {
        case indexed
        case full
    }

    public struct Endpoint: Sendable, Equatable {
        public var name: String
        public var pending: Int
        public var inFlight: Int
        public var dead: Int
        /// With `Scope.full` only.
        public var delivered: Int?
        public var superseded: Int?
        /// When the oldest pending message was made.
        public var oldestPending: Instant?
        public var breaker: String
        public var lastError: String?
        public var lastErrorAt: Instant?

        public init(name: String, pending: Int = 0, inFlight: Int = 0, dead: Int = 0, delivered: Int? = nil, superseded: Int? = nil,
                    oldestPending: Instant? = nil, breaker: String = "closed", lastError: String? = nil, lastErrorAt: Instant? = nil) {
            self.name = name
            self.pending = pending
            self.inFlight = inFlight
            self.dead = dead
            self.delivered = delivered
            self.superseded = superseded
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

    /// A position with lines waiting: the most lines first.
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

        public init(sku: String, location: String, onHand: Int64, reserved: Int64, waitingLines: Int64, waitingUnits: Int64,
                    nextPO: String? = nil, nextPOExpected: Moment? = nil, nextPOQuantity: Int64? = nil) {
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

    /// The configured endpoints first, in their order, then any other with a breaker
    /// state or dead letters — and, in `Scope.full`, any other with messages at all.
    /// (The page adds those with messages waiting from its removed-endpoint review.)
    public var endpoints: [Endpoint]
    public var deadLetters: Int
    public var linesWaiting: Int
    public var files: [File]
    public var waiting: [WaitingPosition]
    /// Lines per status (`waiting`, `ready`, `fulfilled`, `cancelled`); `Scope.full` only.
    public var lines: [String: Int]?
    /// The earliest deadline of a waiting line (overdue, long wait); `Scope.full` only.
    public var nextDeadline: Instant?

    public init(endpoints: [Endpoint], deadLetters: Int, linesWaiting: Int, files: [File], waiting: [WaitingPosition],
                lines: [String: Int]? = nil, nextDeadline: Instant? = nil) {
        self.endpoints = endpoints
        self.deadLetters = deadLetters
        self.linesWaiting = linesWaiting
        self.files = files
        self.waiting = waiting
        self.lines = lines
        self.nextDeadline = nextDeadline
    }
}
