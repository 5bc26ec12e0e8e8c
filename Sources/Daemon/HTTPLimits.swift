import NIOCore

/// What one client may cost the daemon's HTTP listeners (the status page, `/metrics`):
/// the numbers `HTTPService` enforces, in one place. A listener reachable from a
/// network must survive clients that send too much, too slowly, or too many times.
enum HTTPLimits {
    /// Request line and headers together; past this the client gets 431 and is
    /// disconnected as soon as the bytes arrive.
    static let headerBytes = 16 * 1024
    /// Header fields in one request.
    static let headerFields = 100
    /// Connections open at once on one listener. The one past it is answered 503 at
    /// once and closed, so a flood of idle connections never holds file descriptors
    /// the inbox, the state and deliveries need.
    static let connections = 64
    /// From connecting (or from the end of the previous answer on a kept-alive
    /// connection) to a complete request head: a slow or idle client is disconnected.
    static let headWithin = TimeAmount.seconds(10)
    /// From a complete request head to the end of its answer.
    static let answerWithin = TimeAmount.seconds(30)
}
