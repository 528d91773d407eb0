import Crypto
public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Replaces the key-encryption key while servers keep serving.
///
/// 1. A new version is created in the key source and recorded as `active`; the old one becomes
///    `retiring`. Tokenizations read the active version under a share lock in their own
///    transaction (see ``KeyRing``), so once this step commits none can use the old version.
/// 2. Every data key still wrapped under a retiring version is unwrapped and wrapped again under
///    the active one, in batches, each batch its own transaction.
/// 3. When none is left — checked again in the same transaction that marks them — the old
///    versions are marked `retired`, then destroyed in the key source.
///
/// Interrupted at any point, running it again resumes: an existing `retiring` version means
/// step 1 is done.
public struct KeyRotation: Sendable {
    /// Progress reports: re-wrapped so far, and how many there were to do.
    public typealias Progress = @Sendable (_ done: Int, _ total: Int) -> Void

    let vault: Vault
    let database: KessaiDatabase
    let clock: any KessaiClock
    let batchSize: Int
    let actor: LedgerActor

    public init(vault: Vault, database: KessaiDatabase, clock: any KessaiClock, batchSize: Int = 500, actor: LedgerActor = .system("key_rotation")) {
        self.vault = vault
        self.database = database
        self.clock = clock
        self.batchSize = batchSize
        self.actor = actor
    }

    private func entry(_ step: String, _ objects: [String: String]) -> LedgerEntry {
        LedgerEntry(time: clock.now(), actor: actor, action: "vault.key_rotation.\(step)", objects: objects)
    }

    /// The outcome of a rotation.
    public struct Outcome: Sendable, Equatable {
        public let newVersion: Int
        public let retiredVersions: [Int]
        public let rewrapped: Int
    }

    /// Runs (or resumes) a rotation to the end.
    public func run(progress: Progress = { _, _ in }) async throws -> Outcome {
        let source = vault.keyRing.source
        let now = clock.now().unixSeconds
        let retiring = try await versions(in: "retiring")
        let active: Int
        if retiring.isEmpty {
            // Step 1: a new version, recorded before anything is wrapped under it.
            let created = try source.createVersion()
            try await database.transaction { db in
                try await db.update("vault_key_versions").set("state", to: "retiring")
                    .where("state", .equal, "active").run()
                try await db.insert(into: "vault_key_versions")
                    .columns("version", "state", "created_at")
                    .values(SQLBind(created), SQLBind("active"), SQLBind(now))
                    .run()
                try await vault.ledger.record(entry("started", ["key_version": String(created)]), on: db)
            }
            active = created
        } else {
            guard let current = try await versions(in: "active").first else { throw VaultError.noActiveKey }
            active = current
        }
        let old = try await versions(in: "retiring")

        // Step 2: re-wrap in batches until nothing is left under an old version.
        let total = try await countUnder(old)
        var done = 0
        progress(0, total)
        var retired = false
        while !retired {
            while true {
                let batch = try await nextBatch(under: old)
                if batch.isEmpty { break }
                done += try await rewrap(batch, to: active)
                progress(done, max(total, done))
            }
            // Step 3: retire, but only if the count is still zero inside the same transaction.
            do {
                try await retire(old)
                retired = true
            } catch is RetryRewrap {
                continue
            }
        }

        for version in old where try source.versions().contains(version) {
            try source.destroyVersion(version)
        }
        return Outcome(newVersion: active, retiredVersions: old, rewrapped: done)
    }

    private func retire(_ old: [Int]) async throws {
        try await database.transaction { db in
            for version in old {
                try await db.update("vault_key_versions").set("state", to: "retired")
                    .set("retired_at", to: clock.now().unixSeconds)
                    .where("version", .equal, version).run()
            }
            let left =
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("vault_cards").where("kek_version", .in, old).first()?
                .decode(column: "n", as: Int.self) ?? 0
            if left > 0 { throw RetryRewrap() }
            try await vault.ledger.record(entry("retired", ["key_version": old.map(String.init).joined(separator: ",")]), on: db)
        }
    }

    private struct RetryRewrap: Error {}

    private func versions(in state: String) async throws -> [Int] {
        try await database.withConnection { db in
            try await db.select().column("version").from("vault_key_versions")
                .where("state", .equal, state).orderBy("version").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
    }

    private func countUnder(_ versions: [Int]) async throws -> Int {
        guard !versions.isEmpty else { return 0 }
        return try await database.withConnection { db in
            let row = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("vault_cards").where("kek_version", .in, versions).first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    private struct Pending: Sendable {
        let token: String
        let merchant: String
        let version: Int
        let wrapped: Data
    }

    private func nextBatch(under versions: [Int]) async throws -> [Pending] {
        guard !versions.isEmpty else { return [] }
        return try await database.withConnection { db in
            try await db.select().columns("token", "merchant_id", "kek_version", "wrapped_key")
                .from("vault_cards").where("kek_version", .in, versions)
                .orderBy("token").limit(batchSize).all()
                .map {
                    Pending(
                        token: try $0.decode(column: "token", as: String.self),
                        merchant: try $0.decode(column: "merchant_id", as: String.self),
                        version: try $0.decode(column: "kek_version", as: Int.self),
                        wrapped: try $0.decode(column: "wrapped_key", as: Data.self)
                    )
                }
        }
    }

    private func rewrap(_ batch: [Pending], to active: Int) async throws -> Int {
        let source = vault.keyRing.source
        return try await database.transaction { db in
            var count = 0
            for item in batch {
                let token = PaymentMethodID(rawValue: item.token)
                let merchant = MerchantID(rawValue: item.merchant)
                let dataKey: SymmetricKey
                do {
                    dataKey = try source.unwrap(item.wrapped, version: item.version, context: Vault.keyContext(token, merchant, item.version))
                } catch {
                    throw VaultError.decryptionFailed(token: item.token)
                }
                let rewrapped = try source.wrap(dataKey, version: active, context: Vault.keyContext(token, merchant, active))
                // Conditional on the old version, so a concurrent rotation cannot double-wrap.
                try await db.update("vault_cards")
                    .set("wrapped_key", to: SQLBind(rewrapped))
                    .set("kek_version", to: active)
                    .where("token", .equal, item.token)
                    .where("kek_version", .equal, item.version)
                    .run()
                count += 1
            }
            try await vault.ledger.record(entry("rewrapped", ["key_version": String(active), "count": String(count)]), on: db)
            return count
        }
    }
}
