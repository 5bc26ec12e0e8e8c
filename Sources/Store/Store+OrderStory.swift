import BackorderCore
import Foundation
import GRDB

extension Store {
    /// The story of an order, from the state file (a reader: works beside the daemon);
    /// nil when no line and no message names it. `endpoints` are the configured ones,
    /// whose messages are found through the per-order index.
    public func orderStory(_ order: String, endpoints: [String]) throws -> OrderStory? {
        try writer.read { db in
            var lines: [OrderStory.Line] = []
            var customer: (id: String?, email: String?, phone: String?) = (nil, nil, nil)
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.line, l.sku, l.location, l.qty, l.status, l.ordered_at, l.promised_at, l.estimate_at, l.projected_at,
                       l.ready_at, l.customer_id, l.customer_email, l.customer_phone,
                       (SELECT r.po FROM restock r WHERE r.sku = l.sku AND r.location = l.location AND r.status = 'open'
                         AND r.expected_at = l.projected_at ORDER BY r.po LIMIT 1)
                FROM order_line l WHERE l.order_id = ? ORDER BY l.line
                """, arguments: [order])
            for r in rows {
                if customer.id == nil { customer = (r[10], r[11], r[12]) }
                // Dates as dates (`2026-12-10`), instants in RFC 3339 UTC.
                func moment(_ i: Int) -> String? { (r[i] as Int64?).map { Moment(raw: $0).description } }
                func time(_ i: Int) -> String? { (r[i] as Int64?).map { RFC3339.format(Instant(milliseconds: $0)) } }
                lines.append(OrderStory.Line(line: r[0], sku: r[1], location: r[2], qty: r[3], status: r[4],
                                             orderedAt: moment(5) ?? "", promisedAt: moment(6) ?? "", estimateAt: moment(7),
                                             projectedAt: moment(8), waitsFor: r[13], readyAt: time(9)))
            }
            var known = Set(endpoints)
            // Endpoints removed from the configuration may still hold messages of the order.
            for e in try String.fetchAll(db, sql: "SELECT DISTINCT endpoint FROM endpoint_state") { known.insert(e) }
            var messages: [MessageRecord] = []
            for endpoint in known.sorted() {
                messages += try Self.messages(db, where: "endpoint = ? AND order_key = ?", [endpoint, order], body: false)
            }
            messages.sort { ($0.createdAt, $0.webhookID, $0.endpoint) < ($1.createdAt, $1.webhookID, $1.endpoint) }
            guard !lines.isEmpty || !messages.isEmpty else { return nil }
            return OrderStory(order: order, customer: customer.id, email: customer.email, phone: customer.phone, lines: lines,
                              messages: messages)
        }
    }

    /// Every copy (one per endpoint) of the message with this webhook id, body included.
    public func message(_ webhookID: String) throws -> [MessageRecord] {
        try writer.read { db in
            var copies = try Self.messages(db, where: "webhook_id = ?", [webhookID], body: true)
            for i in copies.indices {
                copies[i].history = try Row.fetchAll(db, sql: """
                    SELECT a.at, a.outcome, a.detail FROM delivery_attempt AS a
                    WHERE a.outbox_id = (SELECT id FROM outbox WHERE webhook_id = ? AND endpoint = ?) ORDER BY a.at, a.rowid
                    """, arguments: [webhookID, copies[i].endpoint]).map {
                    MessageRecord.Attempt(at: RFC3339.format(Instant(milliseconds: $0[0])), outcome: $0[1], detail: $0[2])
                }
            }
            return copies
        }
    }

    static func messages(_ db: Database, where condition: String, _ arguments: StatementArguments, body: Bool) throws -> [MessageRecord] {
        try Row.fetchAll(db, sql: """
            SELECT webhook_id, type, endpoint, order_key, state, attempts, created_at, delivered_at, last_error,
                   \(body ? "(SELECT body FROM outbox_body AS b WHERE b.id = o.id)" : "NULL")
            FROM outbox AS o WHERE \(condition) ORDER BY id
            """, arguments: arguments).map { r in
            MessageRecord(webhookID: r[0], type: r[1], endpoint: r[2], order: r[3], state: r[4], attempts: r[5],
                          createdAt: RFC3339.format(Instant(milliseconds: r[6])),
                          deliveredAt: (r[7] as Int64?).map { RFC3339.format(Instant(milliseconds: $0)) },
                          lastError: r[8], body: (r[9] as Data?).map { String(decoding: $0, as: UTF8.self) })
        }
    }
}
