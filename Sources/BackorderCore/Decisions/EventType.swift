/// Every kind of message the daemon sends, named as receivers see it in `type` and as
/// endpoints subscribe to it. The one place these names are spelled.
public enum EventType: String, CaseIterable, Sendable, CustomStringConvertible {
    case ready = "backorder.ready"
    case partiallyReady = "backorder.partially_ready"
    case delayed = "backorder.delayed"
    case overdue = "backorder.overdue"
    case longWait = "backorder.long_wait"
    case stockLow = "stock.low"
    case stockOut = "stock.out"
    case stockOversold = "stock.oversold"

    /// The name, as receivers see it (so that logs and text show it, never the case).
    public var description: String { rawValue }

    /// Every name, in the order above.
    public static let all: [String] = allCases.map(\.rawValue)

    /// Customer news (the `backorder.*` types); the rest are staff alerts.
    public var isCustomerNews: Bool {
        switch self {
        case .ready, .partiallyReady, .delayed, .overdue, .longWait: true
        case .stockLow, .stockOut, .stockOversold: false
        }
    }

    /// The older undelivered messages a new one of this type makes obsolete: a `ready`
    /// replaces every pending piece of news of the order; a delay or overdue notice
    /// replaces earlier ones about the same lines; lines now ready need no delay notice.
    public var supersedes: (types: [EventType], wholeOrder: Bool) {
        switch self {
        case .ready: ([.delayed, .overdue, .longWait, .partiallyReady], true)
        case .delayed, .overdue, .partiallyReady: ([.delayed, .overdue], false)
        case .longWait, .stockLow, .stockOut, .stockOversold: ([], false)
        }
    }
}

extension StaffAlert.Kind {
    /// The message type of an alert of this kind.
    public var eventType: EventType {
        switch self {
        case .low: .stockLow
        case .out: .stockOut
        case .oversold: .stockOversold
        }
    }
}
