import BackorderCore
import Foundation

/// The status page's HTML, as pure functions of what the state and the daemon's
/// counters say: no I/O here (`StatusHandler` reads, these render).
enum StatusPages {
    /// `/`: health at a glance.
    static func overview(_ o: StatusReport, deliveries: [String: DeliveryWindow.Summary], rejects: [RecentReject],
                         fileSizes: [String: Int64], now: Instant,
                         removed: (names: Set<String>, grace: Span, configOption: String),
                         version: String) -> String {
        var h = HTMLText()
        h.heading(1, "Overview")
        let pending = o.endpoints.reduce(0) { $0 + $1.pending }
        let inFlight = o.endpoints.reduce(0) { $0 + $1.inFlight }
        let lag = o.files.reduce(Int64(0)) { $0 + max(0, (fileSizes[$1.name] ?? $1.offset) - $1.offset) }
        h.raw("<div class=\"tiles\" id=\"queue\">")
        for (label, value, id) in [("pending", "\(pending)", "pending"), ("in flight", "\(inFlight)", "in-flight"),
                                   ("dead letters", "\(o.deadLetters)", "dead"), ("lines waiting", "\(o.linesWaiting)", "waiting"),
                                   ("inbox lag", bytes(lag), "lag")] {
            h.raw("<div class=\"tile\" id=\"tile-\(id)\"><b>\(HTMLText.escape(value))</b>\(HTMLText.escape(label))</div>")
        }
        h.raw("</div>\n")

        h.heading(2, "Endpoints")
        h.table("endpoints", ["endpoint", "delivered 1h", "failed 1h", "pending", "in flight", "oldest pending", "dead", "breaker",
                              "last attempt", "last error"],
                o.endpoints.map { e in
                    let d = deliveries[e.name] ?? DeliveryWindow.Summary()
                    let name = HTMLText.escape(e.name) + (removed.names.contains(e.name) ? " " + HTMLText.badge("not configured", "bad") : "")
                    return [name, "\(d.delivered)", d.failed > 0 ? HTMLText.badge("\(d.failed)", "warn") : "0",
                            "\(e.pending)", "\(e.inFlight)", e.oldestPending.map { age(now, $0) } ?? "–",
                            e.dead > 0 ? HTMLText.link("/dead-letters?endpoint=" + HTMLText.urlEncode(e.name), "\(e.dead)") : "0",
                            HTMLText.badge(e.breaker, e.breaker == "closed" ? "ok" : "bad"),
                            d.last.map { HTMLText.escape($0) + (d.lastAt.map { " <span class=\"muted\">\(age(now, $0)) ago</span>" } ?? "") } ?? "–",
                            e.lastError.map { HTMLText.escape($0) + (e.lastErrorAt.map { " <span class=\"muted\">\(age(now, $0)) ago</span>" } ?? "") } ?? "–"]
                }, empty: "No endpoints are configured: add [[endpoints]] to the configuration.")
        for name in removed.names.sorted() {
            h.raw("<p class=\"note\" id=\"removed-\(HTMLText.escape(name))\">Messages wait for <b>\(HTMLText.escape(name))</b>, which the configuration no longer names: "
                  + "they become dead letters \(HTMLText.escape("\(removed.grace)")) after it was first seen gone (delivery.removed_endpoint_grace). "
                  + "Move them with <code>backorderd dead-letters requeue\(HTMLText.escape(removed.configOption)) --endpoint \(HTMLText.escape(name)) --to NEW</code>.</p>\n")
        }

        h.heading(2, "Inbox files")
        h.table("files", ["file", "read", "size", "lag", "lines", "last read"],
                o.files.map { f in
                    let size = fileSizes[f.name]
                    return [HTMLText.escape(f.name), bytes(f.offset), size.map(bytes) ?? "gone", size.map { bytes(max(0, $0 - f.offset)) } ?? "–",
                            "\(f.lines)", age(now, f.readAt) + " ago"]
                }, empty: "No file has been read yet.")

        h.heading(2, "Recent rejects")
        h.table("rejects", ["at", "where", "reason"],
                rejects.map { [HTMLText.escape($0.at), HTMLText.code("\($0.file):\($0.line)"), HTMLText.escape($0.reason)] },
                empty: "No line has been rejected.")

        h.heading(2, "Most lines waiting")
        h.table("positions", ["sku", "location", "lines waiting", "units waiting", "on hand", "reserved", "next purchase order"],
                o.waiting.map { p in
                    [HTMLText.escape(p.sku), HTMLText.escape(p.location), "\(p.waitingLines)", "\(p.waitingUnits)", "\(p.onHand)", "\(p.reserved)",
                     p.nextPO.map { po in
                         HTMLText.escape(po) + " · \(p.nextPOQuantity ?? 0) units · " + (p.nextPOExpected.map { HTMLText.escape($0.description) } ?? "")
                     } ?? "none open"]
                }, empty: "No line is waiting.")
        return HTMLText.page(title: "Overview", version: version, body: h.text)
    }

    /// `/orders/ID`: the order's lines and every message about it.
    static func order(_ s: OrderStory, version: String) -> String {
        var h = HTMLText()
        h.heading(1, "Order " + s.order)
        if let c = s.customer {
            var who = "customer " + c
            if let e = s.email { who += " · " + Mask.email(e) }
            if let p = s.phone { who += " · " + Mask.phone(p) }
            h.raw("<p id=\"customer\">"); h.text(who); h.raw("</p>\n")
        }
        h.heading(2, "Lines")
        h.table("lines", ["line", "sku", "location", "qty", "status", "ordered", "promised", "estimate given", "projected", "waits for", "ready"],
                s.lines.map { l in
                    [HTMLText.escape(l.line), HTMLText.escape(l.sku), HTMLText.escape(l.location), "\(l.qty)",
                     HTMLText.badge(l.status, l.status == "waiting" ? "warn" : l.status == "cancelled" ? "bad" : "ok"),
                     HTMLText.escape(l.orderedAt), HTMLText.escape(l.promisedAt), HTMLText.cell(l.estimateAt), HTMLText.cell(l.projectedAt),
                     HTMLText.cell(l.waitsFor), HTMLText.cell(l.readyAt)]
                }, empty: "No lines: the order is known only from its messages.")
        h.heading(2, "Messages")
        h.table("messages", ["made", "type", "endpoint", "state", "attempts", "last error", "delivered", "webhook id"],
                s.messages.map { m in
                    [HTMLText.escape(m.createdAt), HTMLText.escape(m.type), HTMLText.escape(m.endpoint), HTMLText.badge(m.state, stateKind(m.state)),
                     "\(m.attempts)", HTMLText.cell(m.lastError), HTMLText.cell(m.deliveredAt), HTMLText.code(m.webhookID)]
                }, empty: "No message has been made about this order.")
        return HTMLText.page(title: "Order " + s.order, version: version, body: h.text)
    }

    /// `/orders?q=`: what the search found, when it is not exactly one order.
    static func search(_ query: String, found: [String], version: String) -> String {
        var h = HTMLText()
        h.heading(1, "Search")
        h.raw("<form action=\"/orders\" method=\"get\"><input name=\"q\" value=\"\(HTMLText.escape(query))\" aria-label=\"Search\"> <button>Find</button></form>\n")
        if query.isEmpty {
            h.raw("<p class=\"empty\">Enter an order id, a customer id or a webhook id (msg_…).</p>")
        } else {
            h.table("results", ["order"], found.map { [HTMLText.link("/orders/" + HTMLText.urlEncode($0), $0)] },
                    empty: "Nothing found for “\(query)”: no order, customer or webhook has that id.")
        }
        return HTMLText.page(title: "Search", version: version, body: h.text)
    }

    /// `/dead-letters`: filtered by endpoint, type and time in the URL; each row with the
    /// command that requeues it (the page itself changes nothing).
    /// The dead-letter page lists the newest this many; the count and the commands cover all.
    static let deadLetterRows = 200

    static func deadLetters(_ dead: [DeadLetter], total: Int, filter: (endpoint: String, type: String, since: String), endpoints: [String],
                            problem: String?, configOption: String, version: String) -> String {
        let requeue = "backorderd dead-letters requeue" + configOption
        var h = HTMLText()
        h.heading(1, "Dead letters")
        h.raw("<form action=\"/dead-letters\" method=\"get\" id=\"filter\"><select name=\"endpoint\" aria-label=\"endpoint\"><option value=\"\">every endpoint</option>")
        for e in endpoints {
            h.raw("<option\(e == filter.endpoint ? " selected" : "")>\(HTMLText.escape(e))</option>")
        }
        h.raw("</select> <select name=\"type\" aria-label=\"type\"><option value=\"\">every type</option>")
        for t in EventType.all { h.raw("<option\(t == filter.type ? " selected" : "")>\(HTMLText.escape(t))</option>") }
        h.raw("</select> <input name=\"since\" value=\"\(HTMLText.escape(filter.since))\" placeholder=\"since (RFC 3339)\" aria-label=\"since\"> <button>Filter</button></form>\n")
        if let problem { h.raw("<p class=\"badge bad\" id=\"problem\">"); h.text(problem); h.raw("</p>\n"); }
        var options = ""
        if !filter.endpoint.isEmpty { options += " --endpoint " + shellQuote(filter.endpoint) }
        if !filter.type.isEmpty { options += " --type " + shellQuote(filter.type) }
        if !filter.since.isEmpty { options += " --since " + shellQuote(filter.since) }
        if !dead.isEmpty {
            h.raw("<p id=\"count\">\(total) dead letter\(total == 1 ? "" : "s")\(total > dead.count ? ", the newest \(dead.count) shown" : ""). Requeue \(options.isEmpty ? "all of them" : "all \(total)"): ")
            h.raw(HTMLText.code(requeue + (options.isEmpty ? " --all" : options)) + "</p>\n")
        }
        h.table("dead-letters", ["made", "endpoint", "type", "order", "attempts", "last attempt", "webhook id", "requeue"],
                dead.map { d in
                    [HTMLText.escape(RFC3339.format(d.createdAt)), HTMLText.escape(d.endpoint), HTMLText.escape(d.type),
                     HTMLText.link("/orders/" + HTMLText.urlEncode(d.orderKey), d.orderKey), "\(d.attempts)", HTMLText.cell(d.lastError),
                     HTMLText.code(d.webhookID), HTMLText.code(requeue + " " + d.webhookID)]
                }, empty: "No dead letters\(options.isEmpty ? "" : " match the filter").")
        return HTMLText.page(title: "Dead letters", version: version, body: h.text)
    }

    static func notFound(_ what: String, version: String) -> String {
        var h = HTMLText()
        h.heading(1, "Not found")
        h.raw("<p>"); h.text(what); h.raw("</p>")
        return HTMLText.page(title: "Not found", version: version, body: h.text)
    }

    static func stateKind(_ state: String) -> String {
        switch state {
        case "delivered": "ok"
        case "dead": "bad"
        case "pending", "in_flight": "warn"
        default: ""
        }
    }

    /// `45s`, `3m 12s`, `2h 05m`, `3d 4h`: how long ago `then` was.
    static func age(_ now: Instant, _ then: Instant) -> String {
        let s = max(0, (now.milliseconds - then.milliseconds) / 1000)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \(String(format: "%02d", s % 3600 / 60))m" }
        return "\(s / 86_400)d \(s % 86_400 / 3600)h"
    }

    static func bytes(_ n: Int64) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1_048_576 { return String(format: "%.1f KiB", Double(n) / 1024) }
        return String(format: "%.1f MiB", Double(n) / 1_048_576)
    }

    /// A value as one shell word: bare when it is plain, single-quoted otherwise.
    static func shellQuote(_ s: String) -> String {
        if !s.isEmpty, s.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.:@/+".unicodeScalars.contains($0) }) {
            return s
        }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
