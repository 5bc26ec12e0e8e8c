/// What to do about messages queued for endpoints the configuration no longer names
/// (renamed or removed, by a reload or between runs): without this they would wait
/// forever, never sent, never dead letters, never logged.
///
/// Pure: given what is stranded now and when each endpoint was first seen gone, it says
/// which to announce and which to turn into dead letters (`endpoint removed`) once the
/// operator's grace (`delivery.removed_endpoint_grace`) has passed. An endpoint that
/// comes back is forgotten, so its messages are simply sent.
public struct RemovedEndpoints: Sendable, Equatable {
    /// Endpoints seen gone with messages waiting, and since when.
    public private(set) var since: [String: Instant] = [:]

    public init() {}

    public enum Action: Equatable, Sendable {
        /// First seen: tell the operator how many wait, and when they become dead letters.
        case announce(endpoint: String, waiting: Int, deadAt: Instant)
        /// The grace is over: make them dead letters.
        case deadLetter(endpoint: String)
    }

    /// `stranded`: messages waiting (pending or in flight) per endpoint not configured.
    public mutating func review(stranded: [String: Int], now: Instant, grace: Span) -> [Action] {
        var actions: [Action] = []
        for endpoint in since.keys where stranded[endpoint] == nil { since[endpoint] = nil }
        for (endpoint, waiting) in stranded.sorted(by: { $0.key < $1.key }) where waiting > 0 {
            if let first = since[endpoint] {
                if now >= first + grace { actions.append(.deadLetter(endpoint: endpoint)) }
            } else {
                since[endpoint] = now
                actions.append(.announce(endpoint: endpoint, waiting: waiting, deadAt: now + grace))
                if grace <= .zero { actions.append(.deadLetter(endpoint: endpoint)) }
            }
        }
        return actions
    }
}
