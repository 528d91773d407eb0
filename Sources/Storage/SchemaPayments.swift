extension Schema {
    /// Card payments, events and webhooks (9–10).
    static let payments: [Migration] = [
        Migration(
            version: 9,
            name: "card_payments",
            both: [
                """
                CREATE TABLE payment_intents (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    livemode INTEGER NOT NULL,
                    amount BIGINT NOT NULL,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL,
                    capture_method TEXT NOT NULL,
                    payment_method TEXT,
                    payment_method_types TEXT NOT NULL,
                    description TEXT,
                    metadata TEXT NOT NULL,
                    receipt_email TEXT,
                    client_secret TEXT NOT NULL,
                    amount_capturable BIGINT NOT NULL DEFAULT 0,
                    amount_received BIGINT NOT NULL DEFAULT 0,
                    amount_refunded BIGINT NOT NULL DEFAULT 0,
                    latest_charge TEXT,
                    last_payment_error TEXT,
                    cancellation_reason TEXT,
                    canceled_at BIGINT,
                    return_url TEXT,
                    challenge_id TEXT UNIQUE,
                    authentication TEXT,
                    attempt_id TEXT,
                    confirmed_by_key TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX payment_intents_merchant_created ON payment_intents (merchant_id, created_at, id)",
                """
                CREATE TABLE charges (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    payment_intent_id TEXT NOT NULL REFERENCES payment_intents(id),
                    amount BIGINT NOT NULL,
                    amount_captured BIGINT NOT NULL,
                    amount_refunded BIGINT NOT NULL DEFAULT 0,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL,
                    captured INTEGER NOT NULL,
                    payment_method TEXT NOT NULL,
                    acquirer TEXT NOT NULL,
                    acquirer_reference TEXT,
                    cvc_check TEXT,
                    authentication TEXT,
                    failure_code TEXT,
                    decline_code TEXT,
                    failure_message TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX charges_payment_intent ON charges (payment_intent_id)",
                """
                CREATE TABLE refunds (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    payment_intent_id TEXT NOT NULL REFERENCES payment_intents(id),
                    charge_id TEXT NOT NULL REFERENCES charges(id),
                    amount BIGINT NOT NULL,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL,
                    reason TEXT,
                    metadata TEXT NOT NULL,
                    failure_reason TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX refunds_merchant_created ON refunds (merchant_id, created_at, id)",
                """
                CREATE TABLE acquirer_attempts (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL,
                    payment_intent_id TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    amount BIGINT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                    refund_id TEXT,
                    created_at BIGINT NOT NULL,
                    completed_at BIGINT
                )
                """,
                "CREATE INDEX acquirer_attempts_pending ON acquirer_attempts (state, created_at)",
                """
                CREATE TABLE idempotency_keys (
                    merchant_id TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
                    status_code INTEGER,
                    response TEXT,
                    locked_until BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (merchant_id, idempotency_key)
                )
                """,
                "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
                """
                CREATE TABLE test_acquirer_operations (
                    attempt_id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    approved INTEGER NOT NULL,
                    reference TEXT,
                    amount BIGINT NOT NULL,
                    currency TEXT NOT NULL,
                    error_code TEXT,
                    decline_code TEXT,
                    message TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX test_acquirer_operations_reference ON test_acquirer_operations (reference)",
            ]
        ),
        Migration(
            version: 10,
            name: "events_and_webhooks",
            both: [
                """
                CREATE TABLE events (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    livemode INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    object_id TEXT NOT NULL,
                    data TEXT NOT NULL,
                    request_id TEXT,
                    created_at BIGINT NOT NULL,
                    created_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX events_merchant_created ON events (merchant_id, created_ms, id)",
                """
                CREATE TABLE webhook_endpoints (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    livemode INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    enabled_events TEXT NOT NULL,
                    description TEXT,
                    sealed_secret TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    deleted_at BIGINT
                )
                """,
                "CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id)",
                """
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL,
                    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
                    event_id TEXT NOT NULL REFERENCES events(id),
                    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    last_status INTEGER,
                    last_error TEXT,
                    created_at BIGINT NOT NULL,
                    delivered_at BIGINT
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
                """
                CREATE TABLE webhook_attempts (
                    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
                    attempt INTEGER NOT NULL,
                    attempted_at BIGINT NOT NULL,
                    status_code INTEGER,
                    error TEXT,
                    duration_ms BIGINT NOT NULL,
                    PRIMARY KEY (delivery_id, attempt)
                )
                """,
            ]
        ),
    ]
}
