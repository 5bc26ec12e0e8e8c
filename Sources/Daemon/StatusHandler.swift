import BackorderCore
import Foundation
import Prometheus

/// Answers the `[http]` listener's requests: the status pages and `/metrics`, each
/// after the bearer token when one is configured. Read-only: every page is a read
/// transaction on a reader connection beside the daemon's writer.
struct StatusHandler: PageHandler {
    let store: any OutboxStore
    let deliveries: DeliveryWindow
    let registry: PrometheusCollectorRegistry
    let token: BearerToken?
    let endpoints: [String]
    let inboxDirectory: String
    /// ` --config PATH` for the commands the pages show, when the configuration is not the default one.
    let configOption: String
    let version: String
    let now: @Sendable () -> Instant
    /// Endpoints no longer configured with messages waiting, as the last review found them.
    let stranded: @Sendable () -> [String: Int]
    /// `delivery.removed_endpoint_grace`, for the note the page shows beside such an endpoint.
    let removedGrace: Span
    /// The overview's figures, read at most once a second however often the page is
    /// reloaded: counting a queue of 200,000 messages takes a few tens of milliseconds
    /// that would otherwise come out of delivery's CPU.
    let snapshots = OverviewSnapshots()

    func respond(to request: PageRequest) -> PageResponse {
        if let token, !token.accepts(authorization: request.authorization) {
            return .text(401, "401: send Authorization: Bearer TOKEN, the token in http.token_file\n",
                         headers: [("WWW-Authenticate", "Bearer realm=\"backorderd\"")])
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .text(405, "405: the pages are read with GET or HEAD\n", headers: [("Allow", "GET, HEAD")])
        }
        let path = request.path
        let query = Self.query(request.query)
        do {
            switch path {
            case "/metrics":
                return MetricsHandler(registry: registry).respond(to: request)
            case "/", "/index.html":
                return html(try overview())
            case "/orders", "/orders/":
                let q = (query["q"] ?? "").trimmingCharacters(in: .whitespaces)
                let found = q.isEmpty ? [] : try store.searchOrders(q, endpoints: endpoints)
                if found.count == 1 {
                    return PageResponse(status: 303, headers: [("Location", "/orders/" + HTMLText.urlEncode(found[0]))])
                }
                return html(StatusPages.search(q, found: found, version: version))
            case "/dead-letters":
                return html(try deadLetters(query))
            default:
                if path.hasPrefix("/orders/"), let id = String(path.dropFirst(8)).removingPercentEncoding, !id.isEmpty {
                    guard let story = try store.orderStory(id, endpoints: endpoints) else {
                        return html(StatusPages.notFound("No order \(id) is known: no line and no message names it.", version: version),
                                    status: 404)
                    }
                    return html(StatusPages.order(story, version: version))
                }
                return html(StatusPages.notFound("Nothing is at \(path). The pages are /, /orders/ID, /dead-letters and /metrics.",
                                                 version: version), status: 404)
            }
        } catch {
            return .text(500, "500: the state could not be read (\(error)); see the daemon's log\n")
        }
    }

    private func overview() throws -> String {
        let t = now()
        let s = try snapshots.current(at: t) {
            let o = try store.overview(endpoints: endpoints + stranded().keys.filter { !endpoints.contains($0) }.sorted())
            var sizes: [String: Int64] = [:]
            for f in o.files {
                var st = stat()
                if stat(inboxDirectory + "/" + f.name, &st) == 0 { sizes[f.name] = Int64(st.st_size) }
            }
            return OverviewSnapshots.Snapshot(overview: o, rejects: store.recentRejects(), fileSizes: sizes, at: t)
        }
        return StatusPages.overview(s.overview, deliveries: deliveries.summary(at: t), rejects: s.rejects, fileSizes: s.fileSizes, now: t,
                                    removed: (Set(stranded().keys).subtracting(endpoints), removedGrace, configOption),
                                    version: version)
    }

    private func deadLetters(_ query: [String: String]) throws -> String {
        let endpoint = query["endpoint"] ?? "", type = query["type"] ?? "", since = (query["since"] ?? "").trimmingCharacters(in: .whitespaces)
        var filter = DeadLetterFilter(endpoint: endpoint.isEmpty ? nil : endpoint, type: type.isEmpty ? nil : type)
        var problem: String? = nil
        if !since.isEmpty {
            if case .instant(let i)? = RFC3339.parse(since.utf8) { filter.since = i } else {
                problem = "“\(since)” is not an RFC 3339 time such as 2026-12-01T09:00:00Z; showing every time"
            }
        }
        let dead = try store.deadLetters(matching: filter, newest: StatusPages.deadLetterRows)
        let total = dead.count < StatusPages.deadLetterRows ? dead.count : try store.countDeadLetters(matching: filter)
        return StatusPages.deadLetters(dead, total: total, filter: (endpoint, type, problem == nil ? since : ""), endpoints: endpoints,
                                       problem: problem, configOption: configOption, version: version)
    }

    private func html(_ page: String, status: Int = 200) -> PageResponse {
        PageResponse(status: status, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
        ], body: Array(page.utf8))
    }

    /// Query parameters from the raw query string: `+` is a space (HTML forms), then
    /// percent-decoding; the first of a repeated name wins.
    static func query(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            let name = decode(parts[0])
            if out[name] == nil { out[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return out
    }
}

/// The last overview read, reused while it is younger than `maxAge`.
final class OverviewSnapshots: @unchecked Sendable {
    struct Snapshot {
        var overview: StatusReport
        var rejects: [RecentReject]
        var fileSizes: [String: Int64]
        var at: Instant
    }

    static let maxAge = Span.seconds(1)
    private let lock = Lock()
    private var last: Snapshot?

    /// The snapshot taken less than `maxAge` before `now`, or a new one from `read`.
    func current(at now: Instant, read: () throws -> Snapshot) throws -> Snapshot {
        try lock.withLock {
            if let s = last, now.milliseconds - s.at.milliseconds < Self.maxAge.milliseconds, now >= s.at { return s }
            let s = try read()
            last = s
            return s
        }
    }
}
