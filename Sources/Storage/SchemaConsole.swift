extension Schema {
    /// The operator console and the merchant dashboard: people, their sessions, and requests
    /// that wait for a second person (16–).
    static let console: [Migration] = [
        Migration(
            version: 16,
            name: "console",
            both: [
                """
                CREATE TABLE console_users (
                    id TEXT PRIMARY KEY,
                    app TEXT NOT NULL,
                    merchant_id TEXT,
                    email TEXT NOT NULL,
                    role TEXT NOT NULL,
                    status TEXT NOT NULL,
                    password_hash TEXT,
                    password_history TEXT NOT NULL,
                    totp_sealed TEXT,
                    totp_last_step BIGINT NOT NULL,
                    recovery_codes TEXT NOT NULL,
                    failed_attempts INTEGER NOT NULL,
                    locked_until BIGINT NOT NULL,
                    enrollment_hash TEXT,
                    enrollment_expires_at BIGINT,
                    last_login_at BIGINT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX console_users_email ON console_users (app, email)",
                "CREATE UNIQUE INDEX console_users_enrollment ON console_users (enrollment_hash)",
                """
                CREATE TABLE console_sessions (
                    id_hash TEXT PRIMARY KEY,
                    app TEXT NOT NULL,
                    user_id TEXT,
                    stage TEXT NOT NULL,
                    csrf TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    seen_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX console_sessions_seen ON console_sessions (seen_at)",
                """
                CREATE TABLE console_approvals (
                    id TEXT PRIMARY KEY,
                    app TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    requested_by TEXT NOT NULL,
                    status TEXT NOT NULL,
                    decided_by TEXT,
                    created_at BIGINT NOT NULL,
                    decided_at BIGINT
                )
                """,
                """
                CREATE TABLE console_source_failures (
                    source TEXT PRIMARY KEY,
                    failures INTEGER NOT NULL,
                    window_start BIGINT NOT NULL
                )
                """,
            ]
        )
    ]
}

extension Schema {
    /// Operators' powers over merchants (17–).
    static let operations: [Migration] = [
        Migration(
            version: 17,
            name: "merchants_suspended",
            both: [
                "ALTER TABLE merchants ADD COLUMN suspended_at BIGINT"
            ]
        )
    ]
}

extension Schema {
    /// The sentinel: incidents, its place in the ledger, windowed counters, the file baseline,
    /// and the alert outbox (18–).
    static let sentinel: [Migration] = [
        Migration(
            version: 18,
            name: "sentinel",
            both: [
                """
                CREATE TABLE incidents (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    status TEXT NOT NULL,
                    group_key TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    source TEXT,
                    events INTEGER NOT NULL,
                    first_seq BIGINT,
                    opened_at BIGINT NOT NULL,
                    last_seen_at BIGINT NOT NULL,
                    last_alert_at BIGINT NOT NULL,
                    acknowledged_by TEXT,
                    resolution_requested_by TEXT,
                    resolved_by TEXT,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX incidents_open_key ON incidents (group_key) WHERE status <> 'resolved'",
                "CREATE INDEX incidents_status ON incidents (status, opened_at)",
                "CREATE TABLE sentinel_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                """
                CREATE TABLE sentinel_counters (
                    rule TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    window_start BIGINT NOT NULL,
                    count INTEGER NOT NULL,
                    previous INTEGER NOT NULL,
                    PRIMARY KEY (rule, subject)
                )
                """,
                """
                CREATE TABLE fim_baseline (
                    path TEXT PRIMARY KEY,
                    sha256 TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    mode INTEGER NOT NULL,
                    owner INTEGER NOT NULL,
                    mtime BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE alert_outbox (
                    id TEXT PRIMARY KEY,
                    incident_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    body TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    sent_at BIGINT
                )
                """,
            ]
        )
    ]
}
