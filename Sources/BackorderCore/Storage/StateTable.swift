/// One table of the state, as `backorderd migrate --from-sqlite` copies it between
/// backends: its name and columns, the same on both (the schemas keep them so).
public struct StateTable: Sendable, Equatable {
    public let name: String
    public let columns: [String]

    /// Every table the state keeps, parents before the rows that name them.
    public static let all: [StateTable] = [
        StateTable(name: "position", columns: ["sku", "location", "on_hand", "reserved", "alert_armed", "alerts_fired", "alert_count",
                                               "waiting_lines", "open_restocks", "updated_at"]),
        StateTable(name: "restock", columns: ["po", "sku", "location", "quantity", "expected_at", "status", "updated_at"]),
        StateTable(name: "order_line", columns: ["order_id", "line", "sku", "location", "qty", "ordered_at", "promised_at", "estimate_at",
                                                 "status", "customer_id", "customer_name", "customer_email", "customer_phone",
                                                 "customer_locale", "customer_timezone", "projected_at", "ready_at", "long_wait_sent",
                                                 "deadline_at", "updated_at"]),
        StateTable(name: "inbox_file", columns: ["device", "inode", "name", "offset", "line", "head_length", "head_hash", "tail_hash",
                                                 "updated_at"]),
        StateTable(name: "outbox", columns: ["id", "webhook_id", "endpoint", "order_key", "type", "line_keys", "audience", "zone", "state",
                                             "attempts", "created_at", "next_attempt_at", "lease_until", "last_error", "delivered_at"]),
        StateTable(name: "outbox_body", columns: ["id", "body"]),
        StateTable(name: "endpoint_state", columns: ["endpoint", "last_error", "last_error_at", "breaker", "updated_at"]),
        StateTable(name: "delivery_attempt", columns: ["outbox_id", "at", "outcome", "detail"]),
    ]

    /// A column's name as SQL takes it (`offset` is a keyword).
    public static func quoted(_ column: String) -> String { "\"" + column + "\"" }
}

/// One value of a copied row: the state holds integers and text (bodies are UTF-8 JSON).
public enum StateCell: Sendable, Equatable {
    case int(Int64)
    case text(String)
    case null
}
