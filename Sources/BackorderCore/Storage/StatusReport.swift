/// What `backorderd status` shows: the state of lines, stock, queue and files.
public struct StatusReport: Codable, Sendable {
    public struct Position: Codable, Sendable {
        public var sku: String
        public var location: String
        public var onHand: Int64
        public var reserved: Int64
        public var waitingLines: Int64
        public var waitingQty: Int64

        enum CodingKeys: String, CodingKey {
            case sku, location, onHand = "on_hand", reserved, waitingLines = "waiting_lines", waitingQty = "waiting_qty"
        }

        public init(sku: String, location: String, onHand: Int64, reserved: Int64, waitingLines: Int64, waitingQty: Int64) {
            self.sku = sku
            self.location = location
            self.onHand = onHand
            self.reserved = reserved
            self.waitingLines = waitingLines
            self.waitingQty = waitingQty
        }
    }

    public struct Endpoint: Codable, Sendable {
        public var name: String
        public var pending: Int
        public var inFlight: Int
        public var delivered: Int
        public var dead: Int
        public var superseded: Int
        public var breaker: String
        public var lastError: String?
        public var lastErrorAt: String?

        enum CodingKeys: String, CodingKey {
            case name, pending, inFlight = "in_flight", delivered, dead, superseded, breaker, lastError = "last_error",
                 lastErrorAt = "last_error_at"
        }

        public init(name: String, pending: Int, inFlight: Int, delivered: Int, dead: Int, superseded: Int, breaker: String, lastError: String?, lastErrorAt: String?) {
            self.name = name
            self.pending = pending
            self.inFlight = inFlight
            self.delivered = delivered
            self.dead = dead
            self.superseded = superseded
            self.breaker = breaker
            self.lastError = lastError
            self.lastErrorAt = lastErrorAt
        }
    }

    public struct File: Codable, Sendable {
        public var name: String
        public var offset: Int64
        public var lines: Int64
        public var updatedAt: String

        enum CodingKeys: String, CodingKey { case name, offset, lines, updatedAt = "updated_at" }

        public init(name: String, offset: Int64, lines: Int64, updatedAt: String) {
            self.name = name
            self.offset = offset
            self.lines = lines
            self.updatedAt = updatedAt
        }
    }

    public var lines: [String: Int]
    public var waiting: [Position]
    public var endpoints: [Endpoint]
    public var deadLetters: Int
    public var files: [File]
    public var nextDeadline: String?

    enum CodingKeys: String, CodingKey {
        case lines, waiting, endpoints, deadLetters = "dead_letters", files, nextDeadline = "next_deadline"
    }

    public init(lines: [String: Int], waiting: [Position], endpoints: [Endpoint], deadLetters: Int, files: [File], nextDeadline: String?) {
        self.lines = lines
        self.waiting = waiting
        self.endpoints = endpoints
        self.deadLetters = deadLetters
        self.files = files
        self.nextDeadline = nextDeadline
    }
}
