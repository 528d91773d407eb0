import Logging
import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One numbered, named schema change. Statements are constants, one list per dialect where the
/// two engines differ (BLOB against BYTEA).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sqlite: [StaticString]
    public let postgres: [StaticString]

    public init(version: Int, name: String, sqlite: [StaticString], postgres: [StaticString]) {
        self.version = version
        self.name = name
        self.sqlite = sqlite
        self.postgres = postgres
    }

    /// A change written the same way for both engines.
    public init(version: Int, name: String, both: [StaticString]) {
        self.init(version: version, name: name, sqlite: both, postgres: both)
    }
}

/// Applies migrations in order, each in its own transaction, recording them in
/// `schema_migrations`. Several gateway processes starting at once on PostgreSQL serialize on an
/// advisory lock, so each migration runs exactly once.
public struct Migrator: Sendable {
    let database: KessaiDatabase
    let migrations: [Migration]
    let logger: Logger

    public init(database: KessaiDatabase, migrations: [Migration] = Schema.migrations, logger: Logger) {
        self.database = database
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Applies every migration not applied yet.
    /// - Returns: the versions applied by this call.
    /// - Throws: ``StorageError/migrationFailed(version:name:underlying:)``.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let kind = database.kind
        try await database.withConnection { db in
            try await db.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        }
        var applied: [Int] = []
        for migration in migrations {
            let ran = try await database.transaction { db in
                if kind == .postgres {
                    try await db.run("SELECT pg_advisory_xact_lock(4242001)")
                }
                let done = try await db.select().column("version").from("schema_migrations")
                    .where("version", .equal, migration.version).first()
                if done != nil { return false }
                do {
                    for statement in kind == .postgres ? migration.postgres : migration.sqlite {
                        try await db.run(statement)
                    }
                } catch {
                    throw StorageError.migrationFailed(version: migration.version, name: migration.name, underlying: String(describing: error))
                }
                try await db.insert(into: "schema_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Date().unixSecondsForStorage))
                    .run()
                return true
            }
            if ran {
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration.version)
            }
        }
        return applied
    }

    /// The versions recorded as applied.
    public func appliedVersions() async throws -> [Int] {
        try await database.withConnection { db in
            try await db.select().column("version").from("schema_migrations").orderBy("version").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
    }
}

extension Date {
    var unixSecondsForStorage: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}
