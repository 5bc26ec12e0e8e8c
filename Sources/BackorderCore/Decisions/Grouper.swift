/// Groups a pass's events into messages: one per order and type, and one per staff alert.
public struct Grouper: Sendable {
    /// The cancel-link template (`links.cancel`), with `{{order}}` for the order id.
    public var cancelLink: String?

    public init(cancelLink: String? = nil) {
        self.cancelLink = cancelLink
    }

    public func group(_ events: [Event], in ws: borrowing WorkingSet) -> [Notice] {
        struct OrderNews {
            var firstIndex: Int
            var at: Instant
            var ready: [LineKey] = []
            var delayed: [LineKey: Moment] = [:]
            var overdue: [LineKey: Moment] = [:]
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
        // The working set is `borrowing` here and in the helpers: a closure that copied
        // it into its context (a retain and a release of each of its tables) cost more
        // than the grouping itself, and the compiler now refuses any such copy.
        for (order, n) in news {
            var rank = 0
            func add(_ event: EventType, _ lines: [NoticeLine], remaining: [NoticeLine] = [], seed: String, cancel: Bool,
                     owner: OrderLine?) {
                guard lines.first != nil, let owner else { return }
                let url = cancel ? cancelLink.map { Self.render($0, order: order) } : nil
                let notice = Notice(
                    type: event, orderKey: order, at: n.at, idSeed: "\(event.rawValue)|\(order)|\(seed)",
                    content: .customer(CustomerNotice(order: order, customer: owner.customer, lines: lines, remaining: remaining,
                                                      cancelURL: url)),
                    lineKeys: lines.map(\.line))
                out.append((n.firstIndex, rank, notice))
                rank += 1
            }
            // Delay notices: the latest date per line, for lines still waiting.
            let delayed = Self.keys(n.delayed.keys, .waiting, in: ws)
            if !delayed.isEmpty {
                let lines = noticeLines(delayed, ws, expected: .given(n.delayed))
                add(.delayed, lines, seed: lines.map { "\($0.line)@\($0.expectedAt?.seed ?? "0")" }.joined(separator: ","),
                    cancel: true, owner: Self.owner(order, lines, ws))
            }
            let overdue = Self.keys(n.overdue.keys, .waiting, in: ws)
            if !overdue.isEmpty {
                let lines = noticeLines(overdue, ws, expected: .none)
                add(.overdue, lines, seed: overdue.map { "\($0.line)@\(n.overdue[$0]!.seed)" }.joined(separator: ","),
                    cancel: true, owner: Self.owner(order, lines, ws))
            }
            let longWait = Self.keys(n.longWait, .waiting, in: ws)
            if !longWait.isEmpty {
                let lines = noticeLines(longWait, ws, expected: .projected)
                add(.longWait, lines, seed: longWait.map(\.line).joined(separator: ","), cancel: true, owner: Self.owner(order, lines, ws))
            }
            let ready = Self.keys(n.ready, .ready, in: ws)
            if !ready.isEmpty {
                let stillWaiting = Self.keys(ws.lineKeys(ofOrder: order), .waiting, in: ws)
                let lines = noticeLines(ready, ws, expected: .none)
                let seed = ready.map(\.line).joined(separator: ",")
                if stillWaiting.isEmpty {
                    // Everything can ship: list every ready line, as this message may replace
                    // an undelivered partially-ready one.
                    let all = noticeLines(Self.keys(ws.lineKeys(ofOrder: order), .ready, in: ws), ws, expected: .none)
                    add(.ready, all, seed: seed, cancel: false, owner: Self.owner(order, all, ws))
                } else {
                    let remaining = noticeLines(stillWaiting, ws, expected: .projected)
                    add(.partiallyReady, lines, remaining: remaining, seed: seed, cancel: true, owner: Self.owner(order, lines, ws))
                }
            }
        }
        for (i, a) in staff {
            let key = "stock:\(a.key.sku)@\(a.key.location)"
            out.append((i, 0, Notice(type: a.kind.eventType, orderKey: key, at: a.at,
                                     idSeed: "\(a.kind.rawValue)|\(a.key.sku)|\(a.key.location)|\(a.sequence)",
                                     content: .staff(a), lineKeys: [])))
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    /// Where a notice line's expected date comes from.
    private enum Expected {
        case none
        case given([LineKey: Moment])
        case projected
    }

    /// The keys among `keys` whose line has `status`, sorted.
    private static func keys(_ keys: some Sequence<LineKey>, _ status: LineStatus, in ws: borrowing WorkingSet) -> [LineKey] {
        var out: [LineKey] = []
        for k in keys where ws.line(k)?.status == status { out.append(k) }
        return out.sorted()
    }

    /// The line a message takes its customer from: its first.
    private static func owner(_ order: String, _ lines: [NoticeLine], _ ws: borrowing WorkingSet) -> OrderLine? {
        lines.first.flatMap { ws.line(LineKey(order: order, line: $0.line)) }
    }

    private func noticeLines(_ keys: [LineKey], _ ws: borrowing WorkingSet, expected: Expected) -> [NoticeLine] {
        var out: [NoticeLine] = []
        out.reserveCapacity(keys.count)
        for k in keys {
            guard let l = ws.line(k) else { continue }
            let date: Moment? = switch expected {
            case .none: nil
            case .given(let dates): dates[k]
            case .projected: l.projected
            }
            out.append(NoticeLine(line: l.key.line, sku: l.position.sku, qty: l.qty, location: l.position.location,
                                  promisedAt: l.promisedAt, expectedAt: date))
        }
        return out
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
