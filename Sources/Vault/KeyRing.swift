public import KessaiCore
public import SQLKit
public import Storage
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which key-encryption key version new data keys are wrapped under, as the database records it.
///
/// Each tokenization reads the active version inside its own transaction, holding a share lock
/// on that row (PostgreSQL; SQLite serializes writers anyway). A rotation changes the row's
/// state under an exclusive lock, so it waits for every tokenization that read the old version
/// to commit, and from then on no tokenization can pick the old version: when the rotation
/// re-wraps, every data key under the old version is already visible to it.
public struct KeyRing: Sendable {
    /// The key source that holds the key-encryption keys.
    public let source: any KeySource
    let database: KessaiDatabase
    let clock: any KessaiClock
    /// The last active version seen; a guess that single-statement stores verify in the database.
    private let lastSeen = LastSeenVersion()

    public init(source: any KeySource, database: KessaiDatabase, clock: any KessaiClock) {
        self.source = source
        self.database = database
        self.clock = clock
    }

    final class LastSeenVersion: Sendable {
        let value = Mutex<Int?>(nil)
    }

    /// The version last seen active, if any; ``activeVersion(on:)`` refreshes it.
    var lastSeenVersion: Int? { lastSeen.value.withLock { $0 } }

    /// Records the key source's newest version as active when the database has none yet, and
    /// checks that the source holds the version the database says is active.
    /// - Throws: ``VaultError/unknownKeyVersion(_:)`` when the key file does not match the database.
    public func prepare() async throws {
        let versions = try source.versions()
        guard let newest = versions.last else { throw VaultError.noActiveKey }
        let now = clock.now().unixSeconds
        let active = try await database.transaction { db -> Int in
            if let row = try await db.select().column("version").from("vault_key_versions")
                .where("state", .equal, "active").first()
            {
                return try row.decode(column: "version", as: Int.self)
            }
            let any = try await db.select().column("version").from("vault_key_versions").first()
            guard any == nil else { throw VaultError.noActiveKey }
            try await db.insert(into: "vault_key_versions")
                .columns("version", "state", "created_at")
                .values(SQLBind(newest), SQLBind("active"), SQLBind(now))
                .run()
            return newest
        }
        if !(try source.versions()).contains(active) {
            try source.reload()
            guard try source.versions().contains(active) else { throw VaultError.unknownKeyVersion(active) }
        }
    }

    /// The version to wrap new data keys under, read on the caller's transaction with a share
    /// lock held until it commits.
    public func activeVersion(on db: any SQLDatabase) async throws -> Int {
        // If a rotation commits while this statement waits for the lock, PostgreSQL re-checks the
        // old row (now `retiring`) and drops it, without seeing the new one; a second statement
        // takes a fresh snapshot and finds it.
        for _ in 0..<3 {
            if let version = try await db.select().column("version").from("vault_key_versions")
                .where("state", .equal, "active").for(.share).first()?
                .decode(column: "version", as: Int.self)
            {
                lastSeen.value.withLock { $0 = version }
                return version
            }
        }
        throw VaultError.noActiveKey
    }
}
