/// Groups a pass's events into messages: one per order and type, and one per staff alert.
public struct Grouper: Sendable {
    /// The cancel-link template (`links.cancel`), with `{{order}}` for the order id.
    public var cancelLink: String?

    public init(cancelLink: String? = nil) {
        self.cancelLink = cancelLink
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
            func add(_ event: EventType, _ lines: [NoticeLine], remaining: [NoticeLine] = [], seed: String, cancel: Bool) {
                guard let first = lines.first, let owner = ws.line(LineKey(order: order, line: first.line)) else { return }
                let url = cancel ? cancelLink.map { Self.render($0, order: order) } : nil
                let notice = Notice(
                    type: event.rawValue, orderKey: order, at: n.at, idSeed: "\(event.rawValue)|\(order)|\(seed)",
                    content: .customer(CustomerNotice(order: order, customer: owner.customer, lines: lines, remaining: remaining,
                                                      cancelURL: url)),
                    lineKeys: lines.map(\.line))
                out.append((n.firstIndex, rank, notice))
                rank += 1
            }
            let waiting = { (k: LineKey) in ws.line(k)?.status == .waiting }
            // Delay notices: the latest date per line, for lines still waiting.
            let delayed = n.delayed.keys.filter(waiting).sorted()
            if !delayed.isEmpty {
                let lines = delayed.compactMap { k in noticeLine(k, ws, expected: n.delayed[k]) }
                add(.delayed, lines, seed: lines.map { "\($0.line)@\($0.expectedAt?.milliseconds ?? 0)" }.joined(separator: ","),
                    cancel: true)
            }
            let overdue = n.overdue.keys.filter(waiting).sorted()
            if !overdue.isEmpty {
                let lines = overdue.compactMap { k in noticeLine(k, ws, expected: nil) }
                add(.overdue, lines, seed: overdue.map { "\($0.line)@\(n.overdue[$0]!.milliseconds)" }.joined(separator: ","),
                    cancel: true)
            }
            let longWait = n.longWait.filter(waiting).sorted()
            if !longWait.isEmpty {
                let lines = longWait.compactMap { k in noticeLine(k, ws, expected: ws.line(k)?.projected) }
                add(.longWait, lines, seed: longWait.map(\.line).joined(separator: ","), cancel: true)
            }
            let ready = n.ready.filter { ws.line($0)?.status == .ready }.sorted()
            if !ready.isEmpty {
                let stillWaiting = ws.lineKeys(ofOrder: order).filter(waiting).sorted()
                let lines = ready.compactMap { noticeLine($0, ws, expected: nil) }
                let seed = ready.map(\.line).joined(separator: ",")
                if stillWaiting.isEmpty {
                    // Everything can ship: list every ready line, as this message may replace
                    // an undelivered partially-ready one.
                    let all = ws.lineKeys(ofOrder: order).filter { ws.line($0)?.status == .ready }.sorted()
                    add(.ready, all.compactMap { noticeLine($0, ws, expected: nil) }, seed: seed, cancel: false)
                } else {
                    let remaining = stillWaiting.compactMap { noticeLine($0, ws, expected: ws.line($0)?.projected) }
                    add(.partiallyReady, lines, remaining: remaining, seed: seed, cancel: true)
                }
            }
        }
        for (i, a) in staff {
            let key = "stock:\(a.key.sku)@\(a.key.location)"
            out.append((i, 0, Notice(type: a.kind.eventType.rawValue, orderKey: key, at: a.at,
                                     idSeed: "\(a.kind.rawValue)|\(a.key.sku)|\(a.key.location)|\(a.sequence)",
                                     content: .staff(a), lineKeys: [])))
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    private func noticeLine(_ k: LineKey, _ ws: WorkingSet, expected: Instant?) -> NoticeLine? {
        guard let l = ws.line(k) else { return nil }
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
