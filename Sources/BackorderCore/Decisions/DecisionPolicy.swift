/// The knobs of the decision pass (`[policy]`).
public struct DecisionPolicy: Sendable, Equatable {
    /// `fifo`: a line is never passed over by a later one. `fill`: later lines may take
    /// stock the head line cannot use.
    public enum Allocation: String, Sendable, CaseIterable { case fifo, fill }

    /// How the feed's stock counts relate to open order lines (`policy.stock_counts`).
    public enum StockCounts: String, Sendable, CaseIterable {
        /// The count is what is physically on the shelf.
        case onHand = "on_hand"
        /// The count already subtracts every open order line (a salable quantity).
        case net
    }

    public var allocation: Allocation
    public var grace: Span
    public var longWait: Span
    public var lowStockThreshold: Int64
    public var stockCounts: StockCounts
    /// `policy.timezone` and the zone rules dates are read with.
    public var calendar: DayCalendar

    public init(allocation: Allocation = .fifo, grace: Span = .zero, longWait: Span = .days(21),
                lowStockThreshold: Int64 = 5, stockCounts: StockCounts = .onHand, calendar: DayCalendar = DayCalendar()) {
        self.allocation = allocation
        self.grace = grace
        self.longWait = longWait
        self.lowStockThreshold = lowStockThreshold
        self.stockCounts = stockCounts
        self.calendar = calendar
    }

    public static func == (a: DecisionPolicy, b: DecisionPolicy) -> Bool {
        a.allocation == b.allocation && a.grace == b.grace && a.longWait == b.longWait
            && a.lowStockThreshold == b.lowStockThreshold && a.stockCounts == b.stockCounts
            && (a.calendar === b.calendar || a.calendar.policyZone == b.calendar.policyZone)
    }
}
