/// Kessai's schema, as numbered migrations. Never edit an applied migration: add the next one.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(
            version: 1,
            name: "merchants_and_api_keys",
            both: [
                """
                CREATE TABLE merchants (
                    id TEXT PRIMARY KEY,
                    code TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    kind TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
                    mode TEXT NOT NULL CHECK (mode IN ('test', 'live')),
                    key_hash TEXT NOT NULL UNIQUE,
                    display TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT
                )
                """,
                "CREATE INDEX api_keys_merchant ON api_keys (merchant_id)",
            ]
        ),
        Migration(
            version: 2,
            name: "vault",
            sqlite: [
                """
                CREATE TABLE vault_key_versions (
                    version INTEGER PRIMARY KEY,
                    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT
                )
                """,
                """
                CREATE TABLE vault_cards (
                    token TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    kek_version INTEGER NOT NULL,
                    wrapped_key BLOB NOT NULL,
                    ciphertext BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX vault_cards_kek_version ON vault_cards (kek_version)",
            ],
            postgres: [
                """
                CREATE TABLE vault_key_versions (
                    version INTEGER PRIMARY KEY,
                    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT
                )
                """,
                """
                CREATE TABLE vault_cards (
                    token TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    kek_version INTEGER NOT NULL,
                    wrapped_key BYTEA NOT NULL,
                    ciphertext BYTEA NOT NULL,
                    fingerprint TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX vault_cards_kek_version ON vault_cards (kek_version)",
            ]
        ),
        Migration(
            version: 3,
            name: "payment_methods",
            both: [
                """
                CREATE TABLE payment_methods (
                    id TEXT PRIMARY KEY,
                    merchant_id TEXT NOT NULL REFERENCES merchants(id),
                    type TEXT NOT NULL,
                    brand TEXT NOT NULL,
                    last4 TEXT NOT NULL,
                    exp_month INTEGER NOT NULL,
                    exp_year INTEGER NOT NULL,
                    fingerprint TEXT NOT NULL,
                    funding TEXT NOT NULL,
                    country TEXT,
                    cvc_check TEXT,
                    billing_details TEXT NOT NULL,
                    metadata TEXT NOT NULL,
                    livemode INTEGER NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX payment_methods_merchant ON payment_methods (merchant_id, created_at)",
            ]
        ),
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
    ]
}
