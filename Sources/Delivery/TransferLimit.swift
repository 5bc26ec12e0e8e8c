/// A cap on how many of one `CurlClient`'s transfers run at once. A request handed to
/// `send` with limits waits on the curl thread until every one of them has room, and
/// starts there as soon as a transfer ends — no round trip through the caller.
public final class TransferLimit: @unchecked Sendable {
    // Both guarded by the mutex of the CurlClient that uses the limit.
    var maximum: Int
    var running = 0

    public init(max: Int) { maximum = max }
}
