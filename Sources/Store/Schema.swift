import GRDB
import BackorderCore

/// The state database's schema, as named migrations. Times are integers: milliseconds
/// since the Unix epoch (UTC), or for the columns that may hold a calendar date
/// (`ordered_at`, `promised_at`, `estimate_at`, `projected_at`, `expected_at`) the
/// `Moment.raw` form (`4000000000020261210` for 10 December 2026). Ids are text, so the
/// schema ports to PostgreSQL.
enum Schema {
    /// `calendar` is `policy.timezone`'s: v7 reads the previous releases' dates with it.
    static func migrator(calendar: DayCalendar) -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-initial") { db in
            try db.execute(sql: """
                CREATE TABLE position (
                    sku TEXT NOT NULL,
                    location TEXT NOT NULL,
                    on_hand INTEGER NOT NULL DEFAULT 0,
                    reserved INTEGER NOT NULL DEFAULT 0,
                    alert_armed INTEGER NOT NULL DEFAULT 0,
                    alerts_fired INTEGER NOT NULL DEFAULT 0,
                    alert_count INTEGER NOT NULL DEFAULT 0,
                    waiting_lines INTEGER NOT NULL DEFAULT 0 CHECK (waiting_lines >= 0),
                    open_restocks INTEGER NOT NULL DEFAULT 0 CHECK (open_restocks >= 0),
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (sku, location)
                ) WITHOUT ROWID;

                CREATE TABLE restock (
                    po TEXT NOT NULL,
                    sku TEXT NOT NULL,
                    location TEXT NOT NULL,
                    quantity INTEGER NOT NULL CHECK (quantity > 0),
                    expected_at INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('open', 'received', 'cancelled')),
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (po, sku, location)
                ) WITHOUT ROWID;
                CREATE INDEX restock_open ON restock (sku, location, expected_at) WHERE status = 'open';

                CREATE TABLE order_line (
                    order_id TEXT NOT NULL,
                    line TEXT NOT NULL,
                    sku TEXT NOT NULL,
                    location TEXT NOT NULL,
                    qty INTEGER NOT NULL CHECK (qty > 0),
                    ordered_at INTEGER NOT NULL,
                    promised_at INTEGER NOT NULL,
                    estimate_at INTEGER,
                    status TEXT NOT NULL CHECK (status IN ('waiting', 'ready', 'fulfilled', 'cancelled')),
                    customer_id TEXT NOT NULL,
                    customer_name TEXT,
                    customer_email TEXT,
                    customer_phone TEXT,
                    customer_locale TEXT NOT NULL DEFAULT 'en',
                    customer_timezone TEXT,
                    projected_at INTEGER,
                    ready_at INTEGER,
                    long_wait_sent INTEGER NOT NULL DEFAULT 0,
                    deadline_at INTEGER,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (order_id, line)
                ) WITHOUT ROWID;
                CREATE INDEX order_line_waiting ON order_line (sku, location, ordered_at, order_id, line)
                    WHERE status = 'waiting';
                CREATE INDEX order_line_deadline ON order_line (deadline_at) WHERE status = 'waiting';

                CREATE TABLE inbox_file (
                    device INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    offset INTEGER NOT NULL CHECK (offset >= 0),
                    line INTEGER NOT NULL CHECK (line >= 0),
                    head_length INTEGER NOT NULL,
                    head_hash INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (device, inode)
                ) WITHOUT ROWID;

                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    webhook_id TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    order_key TEXT NOT NULL,
                    type TEXT NOT NULL,
                    line_keys TEXT NOT NULL DEFAULT '',
                    audience TEXT NOT NULL DEFAULT 'customer' CHECK (audience IN ('customer', 'staff')),
                    zone TEXT,
                    body BLOB NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'superseded')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    lease_until INTEGER,
                    last_error TEXT,
                    delivered_at INTEGER,
                    UNIQUE (webhook_id, endpoint)
                );
                CREATE INDEX outbox_live ON outbox (endpoint, id) WHERE state IN ('pending', 'in_flight');
                CREATE INDEX outbox_live_order ON outbox (endpoint, order_key, id) WHERE state IN ('pending', 'in_flight');
                CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
                CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';

                CREATE TABLE endpoint_state (
                    endpoint TEXT PRIMARY KEY NOT NULL,
                    last_error TEXT,
                    last_error_at INTEGER,
                    breaker TEXT NOT NULL DEFAULT 'closed',
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        // Message bodies (about 1 KB each) in a table of their own: the dispatcher updates
        // each outbox row twice per attempt, and with the body inline every update
        // rewrote a kilobyte and a page per few messages (measured: about 8 KB of disk
        // writes per delivered message; Benchmarks/delivery.sh). And claims walk only the
        // pending rows: with `outbox_live` (pending and in flight) every claim stepped over
        // all the messages under way first. Expired leases are reclaimed apart.
        m.registerMigration("v2-outbox-body") { db in
            try db.execute(sql: """
                CREATE TABLE outbox_body (
                    id INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
                    body BLOB NOT NULL
                );
                INSERT INTO outbox_body (id, body) SELECT id, body FROM outbox;
                ALTER TABLE outbox DROP COLUMN body;
                DROP INDEX outbox_live;
                CREATE INDEX outbox_pending ON outbox (endpoint, id) WHERE state = 'pending';
                """)
        }
        // An order's messages by (endpoint, order) in a plain index, not one partial on
        // the live states: a partial index loses an entry each time a message is delivered,
        // and since orders are not queued in order-key order, each delivery dirtied a page
        // of its own there (about one 4 KiB WAL page per message). The plain index changes
        // only when a message is queued; the few messages an order has are checked in the
        // table. Messages under way get a small index of their own, for lease reclaims.
        m.registerMigration("v3-outbox-order") { db in
            try db.execute(sql: """
                DROP INDEX outbox_live_order;
                CREATE INDEX outbox_order ON outbox (endpoint, order_key, id);
                CREATE INDEX outbox_in_flight ON outbox (lease_until) WHERE state = 'in_flight';
                """)
        }
        // For the status page: orders by customer (its search box), and the positions
        // with the most waiting lines without a scan of every position.
        m.registerMigration("v4-status-page") { db in
            try db.execute(sql: """
                CREATE INDEX order_line_customer ON order_line (customer_id);
                CREATE INDEX position_waiting ON position (waiting_lines DESC, sku, location) WHERE waiting_lines > 0;
                """)
        }
        // Every delivery attempt, for `backorderd message` (support wants each one, with
        // what the receiver said). Deleted with its message (retention, purge).
        m.registerMigration("v5-delivery-attempts") { db in
            try db.execute(sql: """
                CREATE TABLE delivery_attempt (
                    outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
                    at INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
                    detail TEXT
                );
                CREATE INDEX delivery_attempt_message ON delivery_attempt (outbox_id, at);
                """)
        }
        // The decisions keep deadlines in memory; only `status` asked the file for the
        // next one, and it scans every line anyway (counts by status). The index cost
        // every line written an extra B-tree insert or delete.
        m.registerMigration("v6-no-deadline-index") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS order_line_deadline")
        }
        // Dates as dates. Up to v6 a bare date (`2026-12-10`) was stored as midnight in
        // policy.timezone, as an instant; now it is kept as the date. The rule, documented
        // in docs/upgrading.md: a stored time at exactly 00:00:00.000 in policy.timezone
        // came from a bare date (feeds that write midnight as a full timestamp are read as
        // that date: at worst told one day later). Deadlines are worked out again at each
        // load (Store.readState), so the old ones are never used.
        m.registerMigration("v7-calendar-dates") { db in
            try DateMigration(calendar: calendar).run(db)
        }
        // The state's id, kept in backorderd.state-id beside the file too (StateIdentity):
        // a directory that held a state knows when its file is gone or replaced.
        m.registerMigration("v8-state-id") { db in
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID")
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('state_id', ?)", arguments: [StateIdentity.newID()])
        }
        // The bytes just before each file's cursor, fingerprinted (FileCursor.tailHash):
        // a file rewritten in place is read again from the start instead of from an
        // offset in the middle of other content. Null for cursors written before.
        m.registerMigration("v9-tail-fingerprint") { db in
            try db.execute(sql: "ALTER TABLE inbox_file ADD COLUMN tail_hash INTEGER")
        }
        return m
    }
}
