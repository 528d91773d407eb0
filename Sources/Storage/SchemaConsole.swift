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
