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

    /// Turns an attempt's result — libcurl's code (0 when a response came), the HTTP
    /// status and the `Retry-After` seconds — into an outcome. Reasons are short stable
    /// labels. A `Retry-After` of any size saturates, it never traps.
    public static func classify(status: Int, curlCode: Int, retryAfterSeconds: Int?) -> Outcome {
        // A 2xx status line received is delivered, whatever happened to the body after it
        // (cut, timed out): the receiver took the message, and a retry would send a copy.
        if (200..<300).contains(status) { return .delivered(status: status) }
        if curlCode != 0 {
            switch curlCode {
            case 28: return .retry(reason: "timeout", after: nil)
            case 6: return .retry(reason: "dns", after: nil)
            case 7: return .retry(reason: "connect", after: nil)
            case 35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91: return .retry(reason: "tls", after: nil)
            // 1 is also what libcurl says when a receiver answers bytes that are not
            // HTTP (an HTTP/0.9 reply): a fault of the other end, worth retrying. The
            // configuration only accepts http(s) URLs, so no scheme is really unsupported.
            case 1: return .retry(reason: "protocol", after: nil)
            case 3: return .permanent(reason: "bad_url")
            default: return .retry(reason: "network", after: nil)
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
