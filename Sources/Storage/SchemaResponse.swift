extension Schema {
    /// Breach response: the exposure watch list and what a payment with a watched card carries
    /// (19–).
    static let response: [Migration] = [
        Migration(
            version: 19,
            name: "exposure_watch",
            both: [
                // The vault's internal fingerprint (a keyed hash, the same card at every merchant)
                // of each card an incident exposed, never the number; a test-mode card watches
                // test-mode payments only.
                """
                CREATE TABLE watched_cards (
                    fingerprint TEXT NOT NULL,
                    livemode INTEGER NOT NULL,
                    incident TEXT,
                    added_by TEXT NOT NULL,
                    added_at BIGINT NOT NULL,
                    PRIMARY KEY (fingerprint, livemode)
                )
                """,
                "ALTER TABLE merchants ADD COLUMN refuse_watched_cards INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE payment_intents ADD COLUMN watch TEXT",
                "ALTER TABLE charges ADD COLUMN watch TEXT",
            ]
        )
    ]
}
