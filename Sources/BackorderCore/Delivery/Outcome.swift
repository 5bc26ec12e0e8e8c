/// What an attempt means for the message: done, try again, or give up.
public enum Outcome: Equatable, Sendable {
    case delivered(status: Int)
    /// Try again; `after` is the receiver's `Retry-After`, if it gave one.
    case retry(reason: String, after: Span?)
    case permanent(reason: String)

    /// Whether it counts against the endpoint's health (the circuit breaker).
    public var isFailure: Bool {
        switch self {
        case .delivered: false
        case .retry(let reason, _): reason != "throttled"
        case .permanent: false
        }
    }

    /// Why a request got no response: what the transport (libcurl, for the daemon) said,
    /// in the core's terms. Each is retried but `badURL`.
    public enum TransportFailure: Sendable, Equatable {
        case timeout, dns, connect, tls
        /// The other end answered bytes that are not HTTP.
        case `protocol`
        case badURL
        /// Any other network failure.
        case network
    }

    /// Turns an attempt's result — the transport's failure (nil when a response came),
    /// the HTTP status and the `Retry-After` seconds — into an outcome. Reasons are short
    /// stable labels. A `Retry-After` of any size saturates, it never traps.
    public static func classify(status: Int, failure: TransportFailure?, retryAfterSeconds: Int?) -> Outcome {
        // A 2xx status line received is delivered, whatever happened to the body after it
        // (cut, timed out): the receiver took the message, and a retry would send a copy.
        if (200..<300).contains(status) { return .delivered(status: status) }
        if let failure {
            switch failure {
            case .timeout: return .retry(reason: "timeout", after: nil)
            case .dns: return .retry(reason: "dns", after: nil)
            case .connect: return .retry(reason: "connect", after: nil)
            case .tls: return .retry(reason: "tls", after: nil)
            case .protocol: return .retry(reason: "protocol", after: nil)
            case .badURL: return .permanent(reason: "bad_url")
            case .network: return .retry(reason: "network", after: nil)
            }
        }
        let after = retryAfterSeconds.map { Span.seconds(Int64($0)) }
        switch status {
        case 200..<300: return .delivered(status: status)
        case 408: return .retry(reason: "http_408", after: after)
        case 425: return .retry(reason: "http_425", after: after)
        case 429: return .retry(reason: "throttled", after: after)
        case 500..<600: return .retry(reason: "http_\(status)", after: after)
        case 300..<400: return .permanent(reason: "redirect_\(status)")
        case 400..<500: return .permanent(reason: "http_\(status)")
        default: return .retry(reason: "bad_status_\(status)", after: nil)
        }
    }
}
