extension Schema {
    /// The ledger and operator tokens (4–8).
    static let ledger: [Migration] = [
        Migration(
            version: 4,
            name: "ledger",
            sqlite: [
                "CREATE TABLE ledger_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
                """
                CREATE TABLE ledger_entries (
                    seq BIGINT PRIMARY KEY,
                    time BIGINT NOT NULL,
                    actor_kind TEXT NOT NULL,
                    actor_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    merchant_id TEXT,
                    token TEXT,
                    request_id TEXT,
                    body TEXT NOT NULL,
                    leaf_hash BLOB NOT NULL,
                    root_after BLOB NOT NULL
                )
                """,
                "CREATE INDEX ledger_entries_time ON ledger_entries (time)",
                "CREATE INDEX ledger_entries_action_time ON ledger_entries (action, time)",
                "CREATE INDEX ledger_entries_merchant_time ON ledger_entries (merchant_id, time)",
                "CREATE INDEX ledger_entries_token ON ledger_entries (token)",
                "CREATE TABLE ledger_state (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, frontier BLOB NOT NULL)",
                "INSERT INTO ledger_state (id, size, frontier) VALUES (1, 0, x'')",
                """
                CREATE TABLE ledger_checkpoints (
                    size BIGINT PRIMARY KEY,
                    root BLOB NOT NULL,
                    time BIGINT NOT NULL,
                    signature BLOB NOT NULL,
                    key_id TEXT NOT NULL
                )
                """,
            ],
            postgres: [
                "CREATE TABLE ledger_pending (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
                """
                CREATE TABLE ledger_entries (
                    seq BIGINT PRIMARY KEY,
                    time BIGINT NOT NULL,
                    actor_kind TEXT NOT NULL,
                    actor_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    merchant_id TEXT,
                    token TEXT,
                    request_id TEXT,
                    body TEXT NOT NULL,
                    leaf_hash BYTEA NOT NULL,
                    root_after BYTEA NOT NULL
                )
                """,
                "CREATE INDEX ledger_entries_time ON ledger_entries (time)",
                "CREATE INDEX ledger_entries_action_time ON ledger_entries (action, time)",
                "CREATE INDEX ledger_entries_merchant_time ON ledger_entries (merchant_id, time)",
                "CREATE INDEX ledger_entries_token ON ledger_entries (token)",
                "CREATE TABLE ledger_state (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, frontier BYTEA NOT NULL)",
                "INSERT INTO ledger_state (id, size, frontier) VALUES (1, 0, ''::bytea)",
                """
                CREATE TABLE ledger_checkpoints (
                    size BIGINT PRIMARY KEY,
                    root BYTEA NOT NULL,
                    time BIGINT NOT NULL,
                    signature BYTEA NOT NULL,
                    key_id TEXT NOT NULL
                )
                """,
            ]
        ),
        Migration(
            version: 5,
            name: "operator_tokens",
            both: [
                """
                CREATE TABLE operator_tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT
                )
                """
            ]
        ),
        Migration(
            version: 6,
            name: "ledger_segments",
            sqlite: [
                """
                CREATE TABLE ledger_segments (
                    start_seq BIGINT PRIMARY KEY,
                    end_seq BIGINT NOT NULL,
                    frontier_after BLOB NOT NULL,
                    file_name TEXT NOT NULL,
                    file_sha256 TEXT NOT NULL,
                    exported_at BIGINT NOT NULL
                )
                """
            ],
            postgres: [
                """
                CREATE TABLE ledger_segments (
                    start_seq BIGINT PRIMARY KEY,
                    end_seq BIGINT NOT NULL,
                    frontier_after BYTEA NOT NULL,
                    file_name TEXT NOT NULL,
                    file_sha256 TEXT NOT NULL,
                    exported_at BIGINT NOT NULL
                )
                """
            ]
        ),
        Migration(
            version: 7,
            name: "ledger_fewer_indexes",
            // Queries by action run within a time window, which the time index serves; one index
            // less on the hottest insert path.
            both: ["DROP INDEX ledger_entries_action_time"]
        ),
        Migration(
            version: 8,
            name: "ledger_chain",
            // A hash chain over the leaves replaces the per-entry root: it pins a tampered entry to
            // its position just as well, for one hash per entry instead of log n.
            sqlite: [
                "ALTER TABLE ledger_entries RENAME COLUMN root_after TO chain_hash",
                "ALTER TABLE ledger_state ADD COLUMN chain BLOB NOT NULL DEFAULT x''",
                "ALTER TABLE ledger_segments ADD COLUMN chain_after BLOB NOT NULL DEFAULT x''",
            ],
            postgres: [
                "ALTER TABLE ledger_entries RENAME COLUMN root_after TO chain_hash",
                "ALTER TABLE ledger_state ADD COLUMN chain BYTEA NOT NULL DEFAULT ''::bytea",
                "ALTER TABLE ledger_segments ADD COLUMN chain_after BYTEA NOT NULL DEFAULT ''::bytea",
            ]
        ),
    ]
}

extension Schema {
    /// The ledger's verifications: when each ran, what it found, and which process ran it, so
    /// the console can say when the ledger last verified (20).
    static let ledgerVerifications: [Migration] = [
        Migration(
            version: 20,
            name: "ledger_verifications",
            both: [
                """
                CREATE TABLE ledger_verifications (
                    id TEXT PRIMARY KEY,
                    finished_at BIGINT NOT NULL,
                    size BIGINT NOT NULL,
                    root TEXT NOT NULL,
                    checkpoints INTEGER NOT NULL,
                    findings INTEGER NOT NULL,
                    first_finding TEXT,
                    duration_ms BIGINT NOT NULL,
                    instance TEXT NOT NULL,
                    started_by TEXT NOT NULL
                )
                """,
                "CREATE INDEX ledger_verifications_finished ON ledger_verifications (finished_at)",
            ]
        )
    ]
}
