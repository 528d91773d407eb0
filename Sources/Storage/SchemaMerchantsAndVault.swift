extension Schema {
    /// Merchants, API keys, the vault and payment methods (1–3).
    static let merchantsAndVault: [Migration] = [
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
    ]
}
