import BackorderCore
import Foundation
import GRDB

extension Store {
    /// The last lines refused, newest first: file, line number and reason.
    public func recentRejects(limit: Int) -> [RecentReject] { rejects.tail(limit: limit) }

    /// What the status page's search box finds for a text: the order of that id, the
    /// orders of a customer id, the order a webhook id was about — each through an index.
    public func searchOrders(_ text: String, endpoints configured: [String], limit: Int) throws -> [String] {
        try writer.read { db in
            var found: [String] = []
            func add(_ ids: [String]) { for id in ids where !found.contains(id) { found.append(id) } }
            add(try String.fetchAll(db, sql: "SELECT DISTINCT order_id FROM order_line WHERE order_id = ?", arguments: [text]))
            add(try String.fetchAll(db, sql: "SELECT DISTINCT order_key FROM outbox WHERE webhook_id = ?", arguments: [text]))
            add(try String.fetchAll(db, sql: """
                SELECT DISTINCT order_id FROM order_line INDEXED BY order_line_customer WHERE customer_id = ? ORDER BY order_id LIMIT ?
                """, arguments: [text, limit]))
            if found.isEmpty {
                // An order known only from its messages (a staff alert's key, say): per endpoint, by index.
                var endpoints = Set(configured)
                for e in try String.fetchAll(db, sql: "SELECT endpoint FROM endpoint_state") { endpoints.insert(e) }
                for e in endpoints.sorted() {
                    add(try String.fetchAll(db, sql: "SELECT order_key FROM outbox WHERE endpoint = ? AND order_key = ? LIMIT 1",
                                            arguments: [e, text]))
                }
            }
            return found
        }
    }
}
