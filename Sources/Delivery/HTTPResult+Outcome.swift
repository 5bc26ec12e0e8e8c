import BackorderCore

extension Outcome {
    /// The outcome of a finished transfer.
    public static func classify(_ r: HTTPResult) -> Outcome {
        classify(status: r.status, curlCode: r.curlCode, retryAfterSeconds: r.retryAfter)
    }
}
