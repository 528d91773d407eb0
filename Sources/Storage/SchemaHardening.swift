extension Schema {
    /// Limits on the public surface and webhook endpoint changes (13–).
    static let hardening: [Migration] = [
        Migration(
            version: 13,
            name: "card_attempts",
            both: [
                """
                CREATE TABLE card_attempts (
                    subject TEXT PRIMARY KEY,
                    attempts INTEGER NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX card_attempts_updated ON card_attempts (updated_at)",
            ]
        ),
        Migration(
            version: 14,
            name: "webhook_endpoints_disabled",
            both: [
                "ALTER TABLE webhook_endpoints ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0"
            ]
        ),
        Migration(
            version: 15,
            name: "statement_descriptor_suffix",
            both: [
                "ALTER TABLE payment_intents ADD COLUMN statement_descriptor_suffix TEXT"
            ]
        ),
    ]
}
