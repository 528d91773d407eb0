import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import KessaiCore
public import Storage
public import SQLKit
import Synchronization

/// Which key-encryption key version new data keys are wrapped under, as the database records it.
///
/// Every gateway process reads the active version from `vault_key_versions` and caches it for a
/// short time, so that a rotation started by `kessai vault rotate-key` in another process is
/// followed by every server within ``refreshInterval``.
public final class KeyRing: Sendable {
    /// The key source that holds the key-encryption keys.
    public let source: any KeySource
    let database: KessaiDatabase
    let clock: any KessaiClock
    /// How long a process trusts its cached idea of the active version.
    public let refreshInterval: TimeInterval
    private let cached: Mutex<(version: Int, readAt: Date)?>

    public init(source: any KeySource, database: KessaiDatabase, clock: any KessaiClock, refreshInterval: TimeInterval = 2) {
        self.source = source
        self.database = database
        self.clock = clock
        self.refreshInterval = refreshInterval
        self.cached = Mutex(nil)
    }

    /// Records the key source's newest version as active when the database has none yet, and
    /// checks that the source holds the version the database says is active.
    /// - Throws: ``VaultError/unknownKeyVersion(_:)`` when the key file does not match the database.
    public func prepare() async throws {
        let versions = try source.versions()
        guard let newest = versions.last else { throw VaultError.noActiveKey }
        let now = clock.now().unixSeconds
        let active = try await database.transaction { db -> Int in
            if let row = try await db.select().column("version").from("vault_key_versions")
                .where("state", .equal, "active").first() {
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
        cached.withLock { $0 = (active, clock.now()) }
    }

    /// The version to wrap new data keys under.
    /// - Parameter db: the caller's connection or transaction, read when the cache is stale (the
    ///   embedded database has one connection, so the ring must not take another).
    public func activeVersion(on db: any SQLDatabase) async throws -> Int {
        let now = clock.now()
        if let cached = cached.withLock({ $0 }), now.timeIntervalSince(cached.readAt) < refreshInterval {
            return cached.version
        }
        let version = try await db.select().column("version").from("vault_key_versions")
            .where("state", .equal, "active").first()?
            .decode(column: "version", as: Int.self)
        guard let version else { throw VaultError.noActiveKey }
        cached.withLock { $0 = (version, now) }
        return version
    }

    /// Forgets the cached version, so the next call reads the database.
    public func invalidate() {
        cached.withLock { $0 = nil }
    }
}
