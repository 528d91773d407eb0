import Crypto
public import KessaiCore
public import Ledger
public import SQLKit
public import Storage
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Why card data is being decrypted. Every decryption names one, and the access log records it.
public enum AccessPurpose: String, Sendable {
    case authorization
    case refund
    case keyRotation = "key_rotation"
    case investigation
}

/// Who is asking the vault, for the ledger entry every access writes.
public struct AccessContext: Sendable {
    public let actor: LedgerActor
    public let requestID: String?
    public let source: String?
    /// The payment a card read serves (`pi_…`), named in its ledger entry.
    public var payment: String? = nil

    public init(actor: LedgerActor, requestID: String? = nil, source: String? = nil) {
        self.actor = actor
        self.requestID = requestID
        self.source = source
    }

    /// The same context, serving a payment.
    public func serving(_ payment: String) -> AccessContext {
        var context = self
        context.payment = payment
        return context
    }
}

/// What the vault returns after storing a card: everything that may be shown.
public struct StoredCard: Sendable, Equatable {
    public let token: PaymentMethodID
    public let fingerprint: String
    public let keyVersion: Int
}

/// The only code that holds card numbers and security codes in clear.
///
/// Each card number is encrypted with AES-256-GCM under its own data key; the data key is
/// wrapped by a key-encryption key from the ``KeySource``, which is never stored in the
/// database. The associated data of both the card ciphertext and the wrapped key names the
/// token and the merchant, so a ciphertext copied onto another row fails to open.
public struct Vault: Sendable {
    public let keyRing: KeyRing
    public let securityCodes: any SecurityCodeStore
    /// Every access is recorded here, in the same transaction as the access (no ledger, no vault).
    public let ledger: Ledger
    let clock: any KessaiClock
    /// How long a security code may be held before authorization (at most 10 minutes).
    public let securityCodeLifetime: TimeInterval

    /// The longest a security code may ever be held.
    public static let maximumSecurityCodeLifetime: TimeInterval = 600

    public init(
        keyRing: KeyRing,
        securityCodes: any SecurityCodeStore,
        ledger: Ledger,
        clock: any KessaiClock,
        securityCodeLifetime: TimeInterval = Vault.maximumSecurityCodeLifetime
    ) {
        self.keyRing = keyRing
        self.securityCodes = securityCodes
        self.ledger = ledger
        self.clock = clock
        self.securityCodeLifetime = min(max(securityCodeLifetime, 1), Vault.maximumSecurityCodeLifetime)
    }

    /// The internal fingerprint: the same card number gives the same one at every merchant. It
    /// stays in the vault (`vault_cards.fingerprint`) for Kessai's own "same card anywhere"
    /// questions, such as the watch list of exposed cards, and is never returned to a merchant.
    /// - Returns: 16 base-62-ish characters.
    public func fingerprint(of pan: PAN) throws -> String {
        Self.shortened(try keyRing.source.mac(Data(pan.digits.utf8), purpose: .cardFingerprint))
    }

    /// The fingerprint a merchant sees: the internal one keyed again with the merchant's id, so
    /// the same card has unrelated fingerprints at two shops and a publishable key learns
    /// nothing it could match elsewhere.
    /// - Parameters:
    ///   - global: the internal fingerprint (``fingerprint(of:)``).
    ///   - merchant: the merchant it is shown to.
    /// - Returns: 16 base-62-ish characters, as Stripe's fingerprints look.
    public func merchantFingerprint(global: String, merchant: MerchantID) throws -> String {
        let message = Data("kessai-merchant-fingerprint-v1\n\(merchant.rawValue)\n\(global)".utf8)
        return Self.shortened(try keyRing.source.mac(message, purpose: .cardFingerprint))
    }

    /// The merchant's fingerprint of a card number.
    public func fingerprint(of pan: PAN, merchant: MerchantID) throws -> String {
        try merchantFingerprint(global: fingerprint(of: pan), merchant: merchant)
    }

    static func shortened(_ mac: Data) -> String {
        String(mac.base64EncodedString().replacingOccurrences(of: "+", with: "").replacingOccurrences(of: "/", with: "").prefix(16))
    }

    /// The sealed form of a card number, ready to be written.
    struct SealedCard: Sendable {
        let version: Int
        let wrappedKey: Data
        let ciphertext: Data
        let fingerprint: String
    }

    /// Encrypts a card number under a fresh data key wrapped by key-encryption key `version`.
    func seal(_ pan: PAN, token: PaymentMethodID, merchant: MerchantID, version: Int) throws -> SealedCard {
        let dataKey = SymmetricKey(size: .bits256)
        let sealed = try AES.GCM.seal(Data(pan.digits.utf8), using: dataKey, authenticating: Self.cardContext(token, merchant))
        guard let ciphertext = sealed.combined else { throw VaultError.decryptionFailed(token: token.rawValue) }
        let wrapped = try keyRing.source.wrap(dataKey, version: version, context: Self.keyContext(token, merchant, version))
        return SealedCard(version: version, wrappedKey: wrapped, ciphertext: ciphertext, fingerprint: try fingerprint(of: pan))
    }

    /// Encrypts and stores a card number under a token, on the caller's transaction.
    /// - Parameters:
    ///   - pan: the card number.
    ///   - token: the payment method id it is stored under.
    ///   - merchant: the owning merchant.
    ///   - db: the caller's transaction, so the card and what refers to it commit together.
    /// - Returns: the fingerprint and key version used.
    public func store(_ pan: PAN, token: PaymentMethodID, merchant: MerchantID, context: AccessContext, on db: any SQLDatabase) async throws -> StoredCard {
        let sealed = try seal(pan, token: token, merchant: merchant, version: try await keyRing.activeVersion(on: db))
        try await ledger.record(tokenizeEntry(token: token, merchant: merchant, version: sealed.version, context: context), on: db)
        try await db.insert(into: "vault_cards")
            .columns("token", "merchant_id", "kek_version", "wrapped_key", "ciphertext", "fingerprint", "created_at")
            .values(
                SQLBind(token.rawValue), SQLBind(merchant.rawValue), SQLBind(sealed.version), SQLBind(sealed.wrappedKey),
                SQLBind(sealed.ciphertext), SQLBind(sealed.fingerprint), SQLBind(clock.now().unixSeconds)
            )
            .run()
        return StoredCard(token: token, fingerprint: try merchantFingerprint(global: sealed.fingerprint, merchant: merchant), keyVersion: sealed.version)
    }

    /// A row to write in the same atomic step as a card (the payment method that shows it).
    public struct CompanionRow: Sendable {
        /// `INSERT INTO table (columns…)`, written as a literal in the caller's code.
        public let insert: SQLQueryString
        /// The values, bound in the order of the columns.
        public let values: [any Encodable & Sendable]

        public init(insert: SQLQueryString, values: [any Encodable & Sendable]) {
            self.insert = insert
            self.values = values
        }
    }

    /// Stores a card and its companion row atomically.
    ///
    /// On PostgreSQL this is one statement — check the key version is still active (share
    /// lock), insert the card, insert the companion — so a tokenization costs one round trip
    /// instead of five. If a rotation changed the active version in between, nothing is written
    /// and the card is sealed again under the new one. On SQLite it is one transaction.
    /// - Parameter companionWithFingerprint: builds the companion once the merchant's fingerprint
    ///   is known.
    public func store(
        _ pan: PAN, token: PaymentMethodID, merchant: MerchantID, context: AccessContext, in database: KessaiDatabase,
        companion companionWithFingerprint: @Sendable (String) -> CompanionRow
    ) async throws -> StoredCard {
        guard database.kind == .postgres else {
            return try await database.transaction { db in
                let stored = try await store(pan, token: token, merchant: merchant, context: context, on: db)
                let companion = companionWithFingerprint(stored.fingerprint)
                try await db.execute(sql: companion.insert + " VALUES (\(binds: companion.values))") { _ in }
                return stored
            }
        }
        let now = clock.now().unixSeconds
        for _ in 0..<3 {
            let version: Int
            if let guess = keyRing.lastSeenVersion {
                version = guess
            } else {
                version = try await database.withConnection { db in try await keyRing.activeVersion(on: db) }
            }
            let sealed = try seal(pan, token: token, merchant: merchant, version: version)
            let shown = try merchantFingerprint(global: sealed.fingerprint, merchant: merchant)
            let companion = companionWithFingerprint(shown)
            let card: SQLQueryString = """
                WITH active AS (
                    SELECT version FROM vault_key_versions WHERE version = \(bind: version) AND state = 'active' FOR SHARE
                ), ledger_entry AS (
                    INSERT INTO ledger_pending (body) SELECT \(bind: ledger.stamped(tokenizeEntry(token: token, merchant: merchant, version: version, context: context)).canonical) FROM active
                ), stored_card AS (
                    INSERT INTO vault_cards (token, merchant_id, kek_version, wrapped_key, ciphertext, fingerprint, created_at)
                    SELECT \(bind: token.rawValue), \(bind: merchant.rawValue), active.version, \(bind: sealed.wrappedKey),
                        \(bind: sealed.ciphertext), \(bind: sealed.fingerprint), \(bind: now)
                    FROM active
                    RETURNING token
                )

                """
            let statement = card + companion.insert + " SELECT \(binds: companion.values) FROM stored_card RETURNING 1 AS stored"
            let stored = try await database.withConnection { db in try await db.countRows(of: statement) }
            if stored == 1 {
                return StoredCard(token: token, fingerprint: shown, keyVersion: version)
            }
            // The version rotated away: learn the new one and seal again.
            _ = try await database.withConnection { db in try await keyRing.activeVersion(on: db) }
        }
        throw VaultError.noActiveKey
    }

    /// Decrypts a stored card number. The ledger entry (who, why, which token) commits in the
    /// same transaction as the read of the ciphertext, before anything is decrypted.
    /// - Parameters:
    ///   - token: the payment method id.
    ///   - merchant: the merchant asking; another merchant's token is ``VaultError/notFound``.
    ///   - purpose: why.
    ///   - context: who, for the ledger.
    ///   - database: where the card lives.
    /// - Returns: the card number.
    /// - Throws: ``VaultError/notFound``, ``VaultError/decryptionFailed(token:)``.
    public func reveal(
        token: PaymentMethodID, merchant: MerchantID, purpose: AccessPurpose, context: AccessContext, in database: KessaiDatabase
    ) async throws -> PAN {
        let ((), opened) = try await revealing(in: database) { _, cards in
            ((), try await cards.read(token: token, merchant: merchant, purpose: purpose, context: context))
        }
        guard let opened else { throw VaultError.notFound }
        return try opened.get()
    }

    /// Runs `body` in one transaction in which it may read one card through `cards`: the read
    /// and its ledger entry join the body's own statements, and the card is decrypted only
    /// after the transaction has committed (so no decryption without a committed entry, and a
    /// payment's claim, its attempt and the access it needs cost one transaction).
    /// - Parameters:
    ///   - database: where the card and the body's rows live.
    ///   - body: the work; returns its result and the card it read, if any. It may take the
    ///     read's ledger entry with ``CardReader/entryWrites()`` to send it with its own writes;
    ///     an entry it does not take is written before the commit all the same.
    /// - Returns: the body's result (its work committed) and, when it read a card, the card
    ///   number or why it could not be opened (``VaultError/decryptionFailed(token:)``), so the
    ///   caller can undo what it committed.
    /// - Throws: what the body throws (nothing committed then).
    ///   - singleBatch: the body's only write is one ``Storage/ConstantWriteBatch`` that takes
    ///     the entry (``CardReader/entryValues()``), so it needs no transaction of its own on
    ///     PostgreSQL (``Storage/KessaiDatabase/batch(_:)``).
    public func revealing<T: Sendable>(
        in database: KessaiDatabase, singleBatch: Bool = false, _ body: @Sendable (any SQLDatabase, CardReader) async throws -> (T, ReadCard?)
    ) async throws -> (T, Result<PAN, any Error>?) {
        let work: @Sendable (any SQLDatabase) async throws -> (T, ReadCard?) = { db in
            let reader = CardReader(vault: self, db: db)
            let (result, read) = try await body(db, reader)
            // An entry the body did not take: a read is never opened without its entry.
            try await db.runWrites(reader.entryWrites())
            return (result, read)
        }
        let (result, read) = try await singleBatch ? database.batch(work) : database.transaction(work)
        return (result, read.map { read in Result { try open(read) } })
    }

    /// A statement that reads a card's ciphertext beside a row of the caller's, saving a
    /// round trip: its values are the token (`$1`) and the merchant (`$2`), its last three
    /// columns are ``sealedColumns``, and it reaches the vault only through ``sealedJoin``, so
    /// the card it returns is the token's, the merchant's, or none. Even a statement that broke
    /// this rule could not open another card under the entry's name: the wrapped key and the
    /// ciphertext are bound to their token and merchant (``keyContext(_:_:_:)``, the GCM
    /// associated data), so such a read fails to decrypt.
    public protocol JoinedCardRead: ConstantStatement {}

    /// Reads cards on a transaction of ``Vault/revealing(in:_:)``, keeping each read's ledger
    /// entry until it is written on that transaction.
    public final class CardReader: Sendable {
        let vault: Vault
        let db: any SQLDatabase
        private let entries = Mutex<[LedgerEntry]>([])

        init(vault: Vault, db: any SQLDatabase) {
            self.vault = vault
            self.db = db
        }

        /// Reads a card's ciphertext; the decryption that will follow gets its ledger entry on
        /// the transaction.
        /// - Throws: ``VaultError/notFound`` when the token is not the merchant's.
        public func read(token: PaymentMethodID, merchant: MerchantID, purpose: AccessPurpose, context: AccessContext) async throws -> ReadCard {
            guard let row = try await db.rows(SealedCard.self, [.text(token.rawValue), .text(merchant.rawValue)]).first,
                let read = try sealed(row, token: token, merchant: merchant, purpose: purpose, context: context)
            else { throw VaultError.notFound }
            return read
        }

        /// Reads a card's ciphertext together with a row of the caller's, in one round trip
        /// (see ``JoinedCardRead``); the decryption that will follow gets its ledger entry on
        /// the transaction, as with ``read(token:merchant:purpose:context:)``.
        /// - Returns: `nil` when the statement matched no row; otherwise the row, whose
        ///   leading columns are the caller's, and the card, `nil` when the vault holds none
        ///   under the token for the merchant.
        public func read<S: JoinedCardRead>(
            joined statement: S.Type, token: PaymentMethodID, merchant: MerchantID, purpose: AccessPurpose, context: AccessContext
        ) async throws -> (row: StatementRow, card: ReadCard?)? {
            guard let row = try await db.rows(S.self, [.text(token.rawValue), .text(merchant.rawValue)]).first else { return nil }
            return (row, try sealed(row, token: token, merchant: merchant, purpose: purpose, context: context))
        }

        /// The card in a row's last three columns (``JoinedCardRead/sealedColumns``), with its
        /// ledger entry kept; `nil` when they are NULL.
        private func sealed(
            _ row: StatementRow, token: PaymentMethodID, merchant: MerchantID, purpose: AccessPurpose, context: AccessContext
        ) throws -> ReadCard? {
            let first = row.count - 3
            guard first >= 0, let version = try row.optionalInteger(first).map(Int.init) else { return nil }
            let card = ReadCard(token: token, merchant: merchant, version: version, wrapped: try row.blob(first + 1), ciphertext: try row.blob(first + 2))
            var objects = ["token": token.rawValue, "merchant": merchant.rawValue, "key_version": String(version)]
            if let payment = context.payment { objects["payment_intent"] = payment }
            let entry = LedgerEntry(
                time: vault.clock.now(), actor: context.actor, action: "vault.decrypt", objects: objects, purpose: purpose.rawValue,
                requestID: context.requestID, source: context.source)
            entries.withLock { $0.append(entry) }
            KessaiMetrics.vaultDecrypt(actorKind: context.actor.kind.rawValue)
            return card
        }

        enum SealedCard: ConstantStatement {
            static let text = "SELECT kek_version, wrapped_key, ciphertext FROM vault_cards WHERE token = $1 AND merchant_id = $2"
            static let parameters: [SQLValue.Kind] = [.text, .text]
        }

        /// The value of a ``Ledger/Ledger/PendingInsert`` for the one read not yet written (a NULL
        /// body when there is none), for the body's write batch; the entry is handed out once.
        /// - Throws: ``VaultError/tooManyReads`` when more than one read waits: a batch takes one.
        public func entryValues() throws -> [SQLValue] {
            let entry = try entries.withLock { pending -> LedgerEntry? in
                guard pending.count <= 1 else { throw VaultError.tooManyReads }
                defer { pending = [] }
                return pending.first
            }
            return vault.ledger.pendingValues(entry)
        }

        /// The inserts of the entries not yet written, for the body's own batch of writes on
        /// the transaction; each entry is handed out once.
        public func entryWrites() -> [any SQLExpression] {
            entries.withLock { pending in
                defer { pending = [] }
                return pending.compactMap { vault.ledger.insertion($0, on: db) }
            }
        }
    }

    /// A card read and recorded but still encrypted; only the vault opens it, after the commit.
    public struct ReadCard: Sendable {
        let token: PaymentMethodID
        let merchant: MerchantID
        let version: Int
        let wrapped: Data
        let ciphertext: Data
    }

    private func open(_ sealed: ReadCard) throws -> PAN {
        let (token, merchant, version) = (sealed.token, sealed.merchant, sealed.version)
        let dataKey: SymmetricKey
        do {
            dataKey = try keyRing.source.unwrap(sealed.wrapped, version: version, context: Self.keyContext(token, merchant, version))
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError.decryptionFailed(token: token.rawValue)
        }
        guard let box = try? AES.GCM.SealedBox(combined: sealed.ciphertext),
            let clear = try? AES.GCM.open(box, using: dataKey, authenticating: Self.cardContext(token, merchant)),
            let pan = try? PAN(String(decoding: clear, as: UTF8.self))
        else { throw VaultError.decryptionFailed(token: token.rawValue) }
        return pan
    }

    func tokenizeEntry(token: PaymentMethodID, merchant: MerchantID, version: Int, context: AccessContext) -> LedgerEntry {
        LedgerEntry(
            time: clock.now(), actor: context.actor, action: "vault.tokenize",
            objects: ["token": token.rawValue, "merchant": merchant.rawValue, "key_version": String(version)],
            requestID: context.requestID, source: context.source)
    }
}

extension Vault.JoinedCardRead {
    /// The vault's columns a joined read selects last: key version, wrapped key, ciphertext.
    public static var sealedColumns: String { "vault_cards.kek_version, vault_cards.wrapped_key, vault_cards.ciphertext" }
    /// The join that brings in the token's card for the merchant, or NULLs.
    public static var sealedJoin: String { "LEFT JOIN vault_cards ON vault_cards.token = $1 AND vault_cards.merchant_id = $2" }
}
