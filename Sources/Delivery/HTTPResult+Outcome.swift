import BackorderCore

extension Outcome {
    /// The outcome of a finished transfer.
    public static func classify(_ r: HTTPResult) -> Outcome {
        classify(status: r.status, failure: r.curlCode == 0 ? nil : transportFailure(curlCode: r.curlCode),
                 retryAfterSeconds: r.retryAfter)
    }

    /// libcurl's error codes in the core's terms (`CURLE_*`, curl/curl.h).
    static func transportFailure(curlCode: Int) -> TransportFailure {
        switch curlCode {
        case 28: .timeout
        case 6: .dns
        case 7: .connect
        case 35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91: .tls
        // 1 is also what libcurl says when a receiver answers bytes that are not HTTP
        // (an HTTP/0.9 reply): a fault of the other end, worth retrying. The
        // configuration only accepts http(s) URLs, so no scheme is really unsupported.
        case 1: .protocol
        case 3: .badURL
        default: .network
        }
    }
}
