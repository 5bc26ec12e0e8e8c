/// A request to the daemon's HTTP listeners, as the page handlers see it: only what
/// they read, with no server library's types, so the pages are tested without a socket.
struct PageRequest: Sendable {
    var method: String
    /// The path, percent-encoded as sent, without the query.
    var path: String
    /// The raw query string after `?` (empty when none).
    var query: String
    /// The `Authorization` header, when sent.
    var authorization: String?

    init(method: String, target: String, authorization: String? = nil) {
        self.method = method
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        } else {
            path = target
            query = ""
        }
        self.authorization = authorization
    }
}

/// A whole answer: status, headers and body. `HTTPService` sends it (without the body
/// for HEAD, with the length the body would have).
struct PageResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func text(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> PageResponse {
        PageResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: Array(text.utf8))
    }
}

/// Answers requests synchronously. `HTTPService` calls it on a thread of its own, never
/// on the event loops that parse requests nor on the cooperative pool the watchdog uses.
protocol PageHandler: Sendable {
    func respond(to request: PageRequest) -> PageResponse
}
