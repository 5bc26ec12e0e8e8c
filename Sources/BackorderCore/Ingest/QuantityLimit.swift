/// The ranges every count is kept in, so that no sum the decisions make can overflow.
///
/// A record's quantities are checked against `record` when it is read; the decision
/// pass refuses a record that would take a position's on-hand or reserved count past
/// `position`. With both, every sum in the core (available = on hand − reserved, the
/// waiting total, a projection) stays far inside `Int64`.
public enum QuantityLimit {
    /// The largest quantity, count or delta a record may carry: 10^12 (±10^12 for a delta).
    public static let record: Int64 = 1_000_000_000_000
    /// The largest on-hand (either sign) or reserved count a position may reach: 10^15.
    public static let position: Int64 = 1_000_000_000_000_000
}
