import PostgresNIO

/// The PostgreSQL schema, versioned: each version a list of statements, applied at start
/// in one transaction under an advisory lock (two daemons starting together migrate
/// once). A database at a version this binary does not know is refused.
///
/// The tables are the SQLite backend's (times in milliseconds, dates in `Moment.raw`),
/// with keys and the names listings sort by compared byte for byte (`COLLATE "C"`), as
/// SQLite compares them, whatever the database's locale; bodies are `text` (JSON, always
/// UTF-8), and rejects are a table instead of `rejected.jsonl` (the raw line as `bytea`: it may not
/// be UTF-8).
/// Needs PostgreSQL 13 or later (`gen_random_uuid`), and a UTF-8 database.
enum PostgresSchema {
    /// Taken for the migration's transaction: "backorderd" on a phone keypad, more or less.
    static let lock: Int64 = 2_267_673_773

    static let versions: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)
            """,
            // The state's id, 128 random bits in hex as SQLite's (`migrate --from-sqlite` copies that one).
            "INSERT INTO meta (key, value) VALUES ('state_id', replace(gen_random_uuid()::text, '-', ''))",
            """
            CREATE TABLE position (
                sku text COLLATE "C" NOT NULL,
                location text COLLATE "C" NOT NULL,
                on_hand bigint NOT NULL DEFAULT 0,
                reserved bigint NOT NULL DEFAULT 0,
                alert_armed bigint NOT NULL DEFAULT 0,
                alerts_fired bigint NOT NULL DEFAULT 0,
                alert_count bigint NOT NULL DEFAULT 0,
                waiting_lines bigint NOT NULL DEFAULT 0 CHECK (waiting_lines >= 0),
                open_restocks bigint NOT NULL DEFAULT 0 CHECK (open_restocks >= 0),
                updated_at bigint NOT NULL,
                PRIMARY KEY (sku, location)
            )
            """,
            "CREATE INDEX position_waiting ON position (waiting_lines DESC, sku, location) WHERE waiting_lines > 0",
            """
            CREATE TABLE restock (
                po text COLLATE "C" NOT NULL,
                sku text COLLATE "C" NOT NULL,
                location text COLLATE "C" NOT NULL,
                quantity bigint NOT NULL CHECK (quantity > 0),
                expected_at bigint NOT NULL,
                status text NOT NULL CHECK (status IN ('open', 'received', 'cancelled')),
                updated_at bigint NOT NULL,
                PRIMARY KEY (po, sku, location)
            )
            """,
            "CREATE INDEX restock_open ON restock (sku, location, expected_at) WHERE status = 'open'",
            """
            CREATE TABLE order_line (
                order_id text COLLATE "C" NOT NULL,
                line text COLLATE "C" NOT NULL,
                sku text COLLATE "C" NOT NULL,
                location text COLLATE "C" NOT NULL,
                qty bigint NOT NULL CHECK (qty > 0),
                ordered_at bigint NOT NULL,
                promised_at bigint NOT NULL,
                estimate_at bigint,
                status text NOT NULL CHECK (status IN ('waiting', 'ready', 'fulfilled', 'cancelled')),
                customer_id text COLLATE "C" NOT NULL,
                customer_name text,
                customer_email text,
                customer_phone text,
                customer_locale text NOT NULL DEFAULT 'en',
                customer_timezone text,
                projected_at bigint,
                ready_at bigint,
                long_wait_sent bigint NOT NULL DEFAULT 0,
                deadline_at bigint,
                updated_at bigint NOT NULL,
                PRIMARY KEY (order_id, line)
            )
            """,
            "CREATE INDEX order_line_waiting ON order_line (sku, location, ordered_at, order_id, line) WHERE status = 'waiting'",
            "CREATE INDEX order_line_customer ON order_line (customer_id)",
            """
            CREATE TABLE inbox_file (
                device bigint NOT NULL,
                inode bigint NOT NULL,
                name text COLLATE "C" NOT NULL,
                "offset" bigint NOT NULL CHECK ("offset" >= 0),
                line bigint NOT NULL CHECK (line >= 0),
                head_length bigint NOT NULL DEFAULT 0,
                head_hash bigint NOT NULL DEFAULT 0,
                tail_hash bigint,
                updated_at bigint NOT NULL,
                PRIMARY KEY (device, inode)
            )
            """,
            """
            CREATE TABLE reject (
                id bigserial PRIMARY KEY,
                at bigint NOT NULL,
                file text NOT NULL,
                line bigint NOT NULL,
                reason text NOT NULL,
                raw bytea NOT NULL
            )
            """,
            """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                webhook_id text COLLATE "C" NOT NULL,
                endpoint text COLLATE "C" NOT NULL,
                order_key text COLLATE "C" NOT NULL,
                type text NOT NULL,
                line_keys text NOT NULL DEFAULT '',
                audience text NOT NULL DEFAULT 'customer' CHECK (audience IN ('customer', 'staff')),
                zone text,
                state text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'superseded')),
                attempts bigint NOT NULL DEFAULT 0,
                created_at bigint NOT NULL,
                next_attempt_at bigint NOT NULL,
                lease_until bigint,
                last_error text,
                delivered_at bigint,
                UNIQUE (webhook_id, endpoint)
            )
            """,
            // Bodies apart, as in SQLite: the dispatcher updates each row twice an attempt.
            "CREATE TABLE outbox_body (id bigint PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE, body text NOT NULL)",
            "CREATE INDEX outbox_pending ON outbox (endpoint, id) WHERE state = 'pending'",
            "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX outbox_order ON outbox (endpoint, order_key, id)",
            // A claim asks whether an order has an earlier message waiting: along this, it
            // steps over none of the order's history (a stock alert's key gathers thousands).
            "CREATE INDEX outbox_live_order ON outbox (endpoint, order_key, id) WHERE state IN ('pending', 'in_flight')",
            "CREATE INDEX outbox_in_flight ON outbox (lease_until) WHERE state = 'in_flight'",
            "CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead'",
            """
            CREATE TABLE endpoint_state (
                endpoint text COLLATE "C" PRIMARY KEY,
                last_error text,
                last_error_at bigint,
                breaker text NOT NULL DEFAULT 'closed',
                updated_at bigint NOT NULL
            )
            """,
            """
            CREATE TABLE delivery_attempt (
                outbox_id bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
                at bigint NOT NULL,
                outcome text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
                detail text
            )
            """,
            "CREATE INDEX delivery_attempt_message ON delivery_attempt (outbox_id, at)",
        ]),
    ]

    /// The oldest server this schema runs on (`server_version_num`): 13 has `gen_random_uuid`.
    static let minimumServer = 130_000

    /// The newest version this binary knows.
    static var known: Int { versions.last!.version }

    /// For the support commands: the schema must be this binary's, untouched.
    static func expectCurrent(_ session: PostgresStore.Session, url: PostgresURL) throws {
        // Two statements: a name in a statement is resolved before it runs, even in a branch not taken.
        let made = try session.query("SELECT to_regclass('schema_version') IS NOT NULL").first?.decode(Bool.self) ?? false
        let current = made ? try session.query("SELECT COALESCE(MAX(version), 0) FROM schema_version").first?.decode(Int.self) ?? 0 : 0
        if current == 0 {
            throw PostgresStoreError.noState(url)
        }
        guard current <= known else { throw PostgresStoreError.newerSchema(current, known: known) }
        if current < known {
            throw PostgresStoreError.unsupported("the state in \(url.description) was written by an earlier release; start the daemon "
                                                 + "(systemctl restart backorderd) so that it brings it up to date, then run this again")
        }
    }

    /// Brings the schema up to date, once, however many daemons start together.
    static func migrate(_ session: PostgresStore.Session) throws {
        try session.transaction { tx in
            let (version, encoding) = try tx.query("SELECT current_setting('server_version_num')::int, current_setting('server_encoding')")
                .first!.decode((Int, String).self)
            guard version >= minimumServer else { throw PostgresStoreError.unsupported("PostgreSQL \(version / 10_000) is too old: backorderd needs 13 or later") }
            guard encoding == "UTF8" else {
                throw PostgresStoreError.unsupported("the database's encoding is \(encoding): create it with ENCODING 'UTF8' (names and messages are UTF-8)")
            }
            try tx.query("SELECT pg_advisory_xact_lock(\(lock))")
            // Asked before it is made: a role that may not create tables starts on a migrated database.
            if try tx.query("SELECT to_regclass('schema_version') IS NULL").first!.decode(Bool.self) {
                try tx.query("CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            }
            let current = try tx.query("SELECT COALESCE(MAX(version), 0) FROM schema_version").first?.decode(Int.self) ?? 0
            guard current <= known else { throw PostgresStoreError.newerSchema(current, known: known) }
            for v in versions where v.version > current {
                for statement in v.statements { try tx.query(PostgresQuery(unsafeSQL: statement)) }
                try tx.query("INSERT INTO schema_version (version) VALUES (\(v.version))")
            }
        }
    }
}
