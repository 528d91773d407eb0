extension Schema {
    /// Hosted pages, cash and redirect payments (11–12).
    static let pagesAndCash: [Migration] = [
        Migration(
            version: 11,
            name: "hosted_pages",
            both: [
                """
                CREATE TABLE embedding_origins (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    origin TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    UNIQUE (merchant_id, origin)
                )
                """,
                """
                CREATE TABLE checkout_sessions (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    livemode INTEGER NOT NULL,
                    payment_intent_id TEXT NOT NULL REFERENCES payment_intents(id),
                    status TEXT NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
                    amount_total BIGINT NOT NULL,
                    currency TEXT NOT NULL,
                    line_items TEXT NOT NULL,
                    success_url TEXT NOT NULL,
                    cancel_url TEXT,
                    locale TEXT,
                    client_reference_id TEXT,
                    customer_email TEXT,
                    metadata TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    completed_at BIGINT
                )
                """,
                "CREATE INDEX checkout_sessions_merchant ON checkout_sessions (merchant_id, created_at, id)",
                """
                CREATE TABLE security_events (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    source TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX security_events_created ON security_events (created_at)",
            ]
        ),
        Migration(
            version: 12,
            name: "cash_and_redirect_payments",
            both: [
                "ALTER TABLE payment_intents ADD COLUMN next_action TEXT",
                "ALTER TABLE refunds ADD COLUMN next_action TEXT",
                """
                CREATE TABLE cash_payments (
                    payment_intent_id TEXT PRIMARY KEY REFERENCES payment_intents(id),
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    method TEXT NOT NULL CHECK (method IN ('konbini', 'payeasy', 'emoney')),
                    payment_method_id TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('new', 'awaiting', 'paid', 'expired', 'canceled', 'refused')),
                    billing TEXT NOT NULL,
                    options TEXT NOT NULL,
                    expires_at BIGINT,
                    page_token TEXT UNIQUE,
                    provider_session TEXT,
                    test_behavior TEXT,
                    notification_id TEXT,
                    paid_at BIGINT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX cash_payments_due ON cash_payments (state, expires_at)",
                """
                CREATE TABLE cash_notifications (
                    id TEXT NOT NULL,
                    payment_intent_id TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'late', 'not_awaiting')),
                    amount BIGINT NOT NULL,
                    paid_at BIGINT NOT NULL,
                    received_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX cash_notifications_intent ON cash_notifications (payment_intent_id)",
                """
                CREATE TABLE outbox_messages (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    recipient TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    body TEXT NOT NULL,
                    related_object TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    sent_at BIGINT
                )
                """,
                "CREATE INDEX outbox_messages_unsent ON outbox_messages (sent_at, created_at)",
                """
                CREATE TABLE test_network_payments (
                    reference TEXT PRIMARY KEY,
                    method TEXT NOT NULL,
                    amount BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    numbers TEXT NOT NULL,
                    notification_id TEXT,
                    paid_at BIGINT,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE test_emoney_sessions (
                    session TEXT PRIMARY KEY,
                    reference TEXT NOT NULL,
                    amount BIGINT NOT NULL,
                    result TEXT,
                    created_at BIGINT NOT NULL,
                    answered_at BIGINT
                )
                """,
            ]
        ),
    ]
}
