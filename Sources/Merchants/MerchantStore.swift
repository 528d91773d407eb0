public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Creates merchants, issues and rolls their keys, and authenticates keys.
public struct MerchantStore: Sendable {
    let database: KessaiDatabase
    let hasher: any APIKeyHasher
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, hasher: any APIKeyHasher, ledger: Ledger, clock: any KessaiClock) {
        self.database = database
        self.hasher = hasher
        self.ledger = ledger
        self.clock = clock
    }

    /// Who acts when nobody says: an operator at this machine's command line.
    public static let localOperator = LedgerActor(.operator, "local")

    /// The longest merchant name accepted.
    public static let maximumNameLength = 100

    /// Creates a merchant with a fresh pair of test keys.
    /// - Parameter name: 1–100 printable characters.
    /// - Returns: the merchant and its keys (the secret key is never shown again).
    /// - Throws: ``MerchantsError/invalidName(maximumLength:)`` for a bad name.
    public func create(name: String, actor: LedgerActor = MerchantStore.localOperator) async throws -> (Merchant, IssuedKeys) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= Self.maximumNameLength,
            !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw MerchantsError.invalidName(maximumLength: Self.maximumNameLength) }
        let merchant = Merchant(id: .random(), code: Self.newCode(), name: trimmed, created: clock.now())
        let keys = try await database.transaction { db in
            try await db.insert(into: "merchants")
                .columns("id", "code", "name", "created_at")
                .values(SQLBind(merchant.id.rawValue), SQLBind(merchant.code), SQLBind(merchant.name), SQLBind(merchant.created.unixSeconds))
                .run()
            try await ledger.record(
                LedgerEntry(time: clock.now(), actor: actor, action: "merchant.created", objects: ["merchant": merchant.id.rawValue, "code": merchant.code]),
                on: db)
            return try await issueKeys(for: merchant.id, mode: .test, actor: actor, on: db)
        }
        return (merchant, keys)
    }

    /// Every merchant, oldest first, with the keys in force shown masked.
    public func list() async throws -> [MerchantSummary] {
        try await database.withConnection { db in
            let merchants = try await db.select().columns("id", "code", "name", "created_at", "suspended_at", "refuse_watched_cards").from("merchants")
                .orderBy("created_at").orderBy("id").all()
                .map(Self.merchant(from:))
            var summaries: [MerchantSummary] = []
            for merchant in merchants {
                let keys = try await db.select().column("display").from("api_keys")
                    .where("merchant_id", .equal, merchant.id.rawValue)
                    .where("revoked_at", .is, SQLLiteral.null)
                    .orderBy("kind").all()
                    .map { try $0.decode(column: "display", as: String.self) }
                summaries.append(MerchantSummary(merchant: merchant, activeKeys: keys))
            }
            return summaries
        }
    }

    /// Finds a merchant by id or merchant code.
    public func find(_ idOrCode: String) async throws -> Merchant? {
        guard idOrCode.utf8.count <= 64 else { return nil }
        return try await database.withConnection { db in
            try await db.select().columns("id", "code", "name", "created_at", "suspended_at", "refuse_watched_cards").from("merchants")
                .where("id", .equal, idOrCode).orWhere("code", .equal, idOrCode)
                .first().map(Self.merchant(from:))
        }
    }

    /// How many merchants exist.
    public func count() async throws -> Int {
        try await database.withConnection { db in
            let row = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("merchants").first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Revokes every key in force for a merchant and issues a new pair, in one transaction.
    /// - Returns: the new keys.
    public func rollKeys(for merchant: MerchantID, actor: LedgerActor = MerchantStore.localOperator) async throws -> IssuedKeys {
        try await database.transaction { db in
            try await db.update("api_keys").set("revoked_at", to: clock.now().unixSeconds)
                .where("merchant_id", .equal, merchant.rawValue)
                .where("revoked_at", .is, SQLLiteral.null)
                .run()
            try await ledger.record(
                LedgerEntry(time: clock.now(), actor: actor, action: "api_keys.revoked", objects: ["merchant": merchant.rawValue]), on: db)
            return try await issueKeys(for: merchant, mode: .test, actor: actor, on: db)
        }
    }

    /// Looks a presented key up by its keyed hash.
    /// - Parameter presented: the key as sent in `Authorization`.
    /// - Returns: the key's identity.
    /// - Throws: ``AuthenticationFailure``.
    public func authenticate(_ presented: String) async throws -> AuthenticatedKey {
        guard let shape = Self.shape(of: presented) else { throw AuthenticationFailure.invalid }
        let digest = try hasher.hash(presented)
        let row = try await database.withConnection { db in try await db.rows(KeyByHash.self, [.text(digest)]).first }
        guard let row,
            let kind = APIKeyKind(rawValue: try row.text(2)),
            let mode = APIKeyMode(rawValue: try row.text(3)),
            kind == shape.kind, mode == shape.mode
        else { throw AuthenticationFailure.invalid }
        if try row.optionalInteger(4) != nil { throw AuthenticationFailure.revoked }
        if try row.optionalInteger(5) != nil { throw AuthenticationFailure.suspended }
        return AuthenticatedKey(id: APIKeyID(rawValue: try row.text(0)), merchant: MerchantID(rawValue: try row.text(1)), kind: kind, mode: mode)
    }

    /// Every API request runs this: a constant statement, prepared once per connection.
    enum KeyByHash: ConstantStatement {
        static let text =
            "SELECT k.id, k.merchant_id, k.kind, k.mode, k.revoked_at, m.suspended_at FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.key_hash = $1"
        static let parameters: [SQLValue.Kind] = [.text]
    }

    /// The kind and mode a key claims by its prefix, when it is well formed: `sk_test_`,
    /// `pk_live_` and so on, then 32 base-62 characters.
    public static func shape(of key: String) -> (kind: APIKeyKind, mode: APIKeyMode)? {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false)
        guard key.utf8.count <= 128, parts.count == 3, parts[2].utf8.count == keyRandomLength,
            parts[2].utf8.allSatisfy(Base62.isCharacter),
            let mode = APIKeyMode(rawValue: String(parts[1]))
        else { return nil }
        switch parts[0] {
        case "sk": return (.secret, mode)
        case "pk": return (.publishable, mode)
        default: return nil
        }
    }

    static let keyRandomLength = 32

    private func issueKeys(for merchant: MerchantID, mode: APIKeyMode, actor: LedgerActor, on db: any SQLDatabase) async throws -> IssuedKeys {
        var issued: [APIKeyKind: String] = [:]
        for kind in [APIKeyKind.secret, .publishable] {
            let id = APIKeyID.random()
            let key = "\(kind.prefix)_\(mode.rawValue)_\(Base62.random(count: Self.keyRandomLength))"
            // Publishable keys are public by design and may be shown again; secret keys only masked.
            let display = kind == .secret ? "\(kind.prefix)_\(mode.rawValue)_…\(key.suffix(4))" : key
            try await db.insert(into: "api_keys")
                .columns("id", "merchant_id", "kind", "mode", "key_hash", "display", "created_at")
                .values(
                    SQLBind(id.rawValue), SQLBind(merchant.rawValue), SQLBind(kind.rawValue),
                    SQLBind(mode.rawValue), SQLBind(try hasher.hash(key)), SQLBind(display), SQLBind(clock.now().unixSeconds)
                )
                .run()
            issued[kind] = key
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "api_key.issued",
                    objects: ["merchant": merchant.rawValue, "api_key": id.rawValue, "kind": kind.rawValue, "mode": mode.rawValue]),
                on: db)
        }
        return IssuedKeys(secretKey: Secret(issued[.secret] ?? ""), publishableKey: issued[.publishable] ?? "")
    }

    private static func merchant(from row: any SQLRow) throws -> Merchant {
        Merchant(
            id: MerchantID(rawValue: try row.decode(column: "id", as: String.self)),
            code: try row.decode(column: "code", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            created: Date(unixSeconds: try row.decode(column: "created_at", as: Int64.self)),
            suspendedAt: try row.decode(column: "suspended_at", as: Int64?.self),
            refusesWatchedCards: try row.decode(column: "refuse_watched_cards", as: Int.self) != 0
        )
    }

    /// A ten-digit merchant code; collisions are caught by the UNIQUE constraint.
    private static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return "M" + String(generator.next(upperBound: UInt64(9_000_000_000)) + 1_000_000_000)
    }
}

extension MerchantStore {
    /// Suspends a merchant (every key of it is refused, 403 `account_suspended`) or resumes it.
    /// - Returns: whether the merchant exists.
    public func setSuspended(_ merchant: MerchantID, _ suspended: Bool, actor: LedgerActor, source: String? = nil) async throws -> Bool {
        try await database.transaction { db in
            guard try await db.select().column("id").from("merchants").where("id", .equal, merchant.rawValue).first() != nil else { return false }
            let update = db.update("merchants").where("id", .equal, merchant.rawValue)
            if suspended {
                try await update.set("suspended_at", to: clock.now().unixSeconds).run()
            } else {
                try await update.set("suspended_at", to: SQLLiteral.null).run()
            }
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: suspended ? "merchant.suspended" : "merchant.resumed", objects: ["merchant": merchant.rawValue],
                    source: source), on: db)
            return true
        }
    }
}

extension MerchantStore {
    /// Whether the merchant's payments with a card on the exposure watch list are blocked
    /// (`true`) or only flagged; a ledger entry either way.
    /// - Returns: whether the merchant exists.
    public func setRefusesWatchedCards(_ merchant: MerchantID, _ refuses: Bool, actor: LedgerActor, source: String? = nil) async throws -> Bool {
        try await database.transaction { db in
            guard try await db.select().column("id").from("merchants").where("id", .equal, merchant.rawValue).first() != nil else { return false }
            try await db.update("merchants").set("refuse_watched_cards", to: refuses ? 1 : 0).where("id", .equal, merchant.rawValue).run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "merchant.watch_policy_changed",
                    objects: ["merchant": merchant.rawValue, "watched_cards": refuses ? "refuse" : "flag"], source: source), on: db)
            return true
        }
    }
}
