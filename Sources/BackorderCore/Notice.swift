/// One message to send: a customer's news about one order, or a staff alert.
///
/// Built by `Grouper` from the events of one batch or one clock wake; its `idSeed`
/// names the event (type, order, lines, dates), so the same input always gives the
/// same webhook id.
public struct Notice: Equatable, Sendable {
    public var type: String
    /// What orders the delivery of messages: the order id, or `stock:SKU@LOCATION`.
    public var orderKey: String
    public var at: Instant
    public var idSeed: String
    public var content: Content
    /// The lines this message speaks for, to tell which older pending messages it replaces.
    public var lineKeys: [String]

    public init(type: String, orderKey: String, at: Instant, idSeed: String, content: Content, lineKeys: [String]) {
        self.type = type
        self.orderKey = orderKey
        self.at = at
        self.idSeed = idSeed
        self.content = content
        self.lineKeys = lineKeys
    }

    public enum Content: Equatable, Sendable {
        case customer(CustomerNotice)
        case staff(StaffAlert)
    }
}

/// The data of a customer message.
public struct CustomerNotice: Equatable, Sendable {
    public var order: String
    public var customer: Customer
    public var lines: [NoticeLine]
    public var remaining: [NoticeLine]
    public var cancelURL: String?

    public init(order: String, customer: Customer, lines: [NoticeLine], remaining: [NoticeLine], cancelURL: String?) {
        self.order = order
        self.customer = customer
        self.lines = lines
        self.remaining = remaining
        self.cancelURL = cancelURL
    }
}

/// One order line as a message shows it.
public struct NoticeLine: Equatable, Sendable {
    public var line: String
    public var sku: String
    public var qty: Int64
    public var location: String
    public var promisedAt: Instant
    /// The date now expected, or nil when none is known (or the line is ready).
    public var expectedAt: Instant?

    public init(line: String, sku: String, qty: Int64, location: String, promisedAt: Instant, expectedAt: Instant?) {
        self.line = line
        self.sku = sku
        self.qty = qty
        self.location = location
        self.promisedAt = promisedAt
        self.expectedAt = expectedAt
    }
}

/// Groups a pass's events into messages: one per order and type, and one per staff alert.
public struct Grouper: Sendable {
    /// The cancel-link template (`links.cancel`), with `{{order}}` for the order id.
    public var cancelLink: String?

    public init(cancelLink: String? = nil) {
        self.cancelLink = cancelLink
    }

    /// The orders whose every line the grouping needs (to tell `ready` from `partially_ready`).
    public static func ordersNeedingAllLines(_ events: [Event]) -> Set<String> {
        var s = Set<String>()
        for e in events { if case .ready(let k, _) = e { s.insert(k.order) } }
        return s
    }

    public func group(_ events: [Event], in ws: WorkingSet) -> [Notice] {
        struct OrderNews {
            var firstIndex: Int
            var at: Instant
            var ready: [LineKey] = []
            var delayed: [LineKey: Instant] = [:]
            var overdue: [LineKey: Instant] = [:]
            var longWait: [LineKey] = []
        }
        var news: [String: OrderNews] = [:]
        var staff: [(Int, StaffAlert)] = []
        for (i, e) in events.enumerated() {
            switch e {
            case .staff(let a):
                staff.append((i, a))
                continue
            case .ready(let k, let at):
                news[k.order, default: OrderNews(firstIndex: i, at: at)].ready.append(k)
            case .delayed(let k, let to, _):
                news[k.order, default: OrderNews(firstIndex: i, at: e.at)].delayed[k] = to
            case .overdue(let k, let estimate, _):
                news[k.order, default: OrderNews(firstIndex: i, at: e.at)].overdue[k] = estimate
            case .longWait(let k, _):
                news[k.order, default: OrderNews(firstIndex: i, at: e.at)].longWait.append(k)
            }
            news[e.orderID!]!.at = max(news[e.orderID!]!.at, e.at)
        }
        var out: [(Int, Int, Notice)] = []
        for (order, n) in news {
            var rank = 0
            func add(_ type: String, _ lines: [NoticeLine], remaining: [NoticeLine] = [], seed: String, cancel: Bool) {
                guard let first = lines.first, let owner = ws.lines[LineKey(order: order, line: first.line)] else { return }
                let url = cancel ? cancelLink.map { Self.render($0, order: order) } : nil
                let notice = Notice(
                    type: type, orderKey: order, at: n.at, idSeed: "\(type)|\(order)|\(seed)",
                    content: .customer(CustomerNotice(order: order, customer: owner.customer, lines: lines, remaining: remaining,
                                                      cancelURL: url)),
                    lineKeys: lines.map(\.line))
                out.append((n.firstIndex, rank, notice))
                rank += 1
            }
            let waiting = { (k: LineKey) in ws.lines[k]?.status == .waiting }
            // Delay notices: the latest date per line, for lines still waiting.
            let delayed = n.delayed.keys.filter(waiting).sorted()
            if !delayed.isEmpty {
                let lines = delayed.compactMap { k in noticeLine(k, ws, expected: n.delayed[k]) }
                add("backorder.delayed", lines, seed: lines.map { "\($0.line)@\($0.expectedAt?.milliseconds ?? 0)" }.joined(separator: ","),
                    cancel: true)
            }
            let overdue = n.overdue.keys.filter(waiting).sorted()
            if !overdue.isEmpty {
                let lines = overdue.compactMap { k in noticeLine(k, ws, expected: nil) }
                add("backorder.overdue", lines, seed: overdue.map { "\($0.line)@\(n.overdue[$0]!.milliseconds)" }.joined(separator: ","),
                    cancel: true)
            }
            let longWait = n.longWait.filter(waiting).sorted()
            if !longWait.isEmpty {
                let lines = longWait.compactMap { k in noticeLine(k, ws, expected: ws.lines[k]?.projected) }
                add("backorder.long_wait", lines, seed: longWait.map(\.line).joined(separator: ","), cancel: true)
            }
            let ready = n.ready.filter { ws.lines[$0]?.status == .ready }.sorted()
            if !ready.isEmpty {
                let stillWaiting = (ws.orderLines[order] ?? []).filter(waiting).sorted()
                let lines = ready.compactMap { noticeLine($0, ws, expected: nil) }
                let seed = ready.map(\.line).joined(separator: ",")
                if stillWaiting.isEmpty {
                    // Everything can ship: list every ready line, as this message may replace
                    // an undelivered partially-ready one.
                    let all = (ws.orderLines[order] ?? []).filter { ws.lines[$0]?.status == .ready }.sorted()
                    add("backorder.ready", all.compactMap { noticeLine($0, ws, expected: nil) }, seed: seed, cancel: false)
                } else {
                    let remaining = stillWaiting.compactMap { noticeLine($0, ws, expected: ws.lines[$0]?.projected) }
                    add("backorder.partially_ready", lines, remaining: remaining, seed: seed, cancel: true)
                }
            }
        }
        for (i, a) in staff {
            let key = "stock:\(a.key.sku)@\(a.key.location)"
            out.append((i, 0, Notice(type: a.kind.rawValue, orderKey: key, at: a.at,
                                     idSeed: "\(a.kind.rawValue)|\(a.key.sku)|\(a.key.location)|\(a.sequence)",
                                     content: .staff(a), lineKeys: [])))
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    private func noticeLine(_ k: LineKey, _ ws: WorkingSet, expected: Instant?) -> NoticeLine? {
        guard let l = ws.lines[k] else { return nil }
        return NoticeLine(line: l.key.line, sku: l.position.sku, qty: l.qty, location: l.position.location,
                          promisedAt: l.promisedAt, expectedAt: expected)
    }

    /// Fills `{{order}}` in the cancel-link template (percent-encoding the id).
    static func render(_ template: String, order: String) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var encoded = ""
        for b in order.utf8 {
            if allowed.contains(b) { encoded.unicodeScalars.append(Unicode.Scalar(b)) } else {
                let hex = Array("0123456789ABCDEF")
                encoded += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 0xF)])
            }
        }
        return template.replacingAll("{{order}}", with: encoded).replacingAll("{{ order }}", with: encoded)
    }
}

extension Event {
    var orderID: String? {
        switch self {
        case .ready(let k, _), .delayed(let k, _, _), .overdue(let k, _, _), .longWait(let k, _): k.order
        case .staff: nil
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
