import Logging
import NIOCore
import NIOPosix
import PostgresKit
public import SQLKit
import SQLiteKit
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

/// Which database engine a ``KessaiDatabase`` talks to.
public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgres
}

/// Where the database lives.
public enum DatabaseLocation: Sendable, Equatable {
    /// An SQLite file (WAL mode) at this path.
    case sqliteFile(path: String)
    /// An in-memory SQLite database, for fast tests.
    case sqliteMemory
    /// A PostgreSQL server, from a `postgres://user:password@host:port/database` URL.
    case postgres(url: String)
}

/// Errors of the storage layer, wrapped so that driver errors never reach a response.
public enum StorageError: Error, CustomStringConvertible {
    case invalidURL
    case unreachable(String)
    case migrationFailed(version: Int, name: String, underlying: String)

    public var description: String {
        switch self {
        case .invalidURL: "the database URL is not a valid postgres:// URL"
        case .unreachable(let why): "the database is not reachable: \(why)"
        case .migrationFailed(let version, let name, let underlying): "migration \(version) (\(name)) failed: \(underlying)"
        }
    }
}

/// The one SQL layer: SQLKit over SQLite or PostgreSQL, with bound parameters only.
///
/// SQLite runs on one connection guarded by a FIFO lock (SQLite has one writer anyway);
/// PostgreSQL runs on PostgresNIO's connection pool.
public final class KessaiDatabase: Sendable {
    public let kind: DatabaseKind
    let backend: Backend
    let logger: Logger

    enum Backend: Sendable {
        /// The connection, its lock, and the file (`nil` in memory).
        case sqlite(SQLiteConnection, AsyncLock, path: String?)
        case postgres(PostgresClient, Task<Void, Never>)
    }

    private init(kind: DatabaseKind, backend: Backend, logger: Logger) {
        self.kind = kind
        self.backend = backend
        self.logger = logger
    }

    /// Opens a database.
    /// - Parameters:
    ///   - location: the SQLite file or PostgreSQL URL.
    ///   - maximumConnections: the PostgreSQL pool size.
    ///   - logger: where driver messages go (never bound values: query logging is off).
    /// - Throws: ``StorageError`` when the URL is bad or the file cannot be opened.
    public static func open(_ location: DatabaseLocation, maximumConnections: Int = 16, logger: Logger) async throws -> KessaiDatabase {
        switch location {
        case .sqliteFile(let path):
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            let database = KessaiDatabase(kind: .sqlite, backend: .sqlite(connection, AsyncLock(), path: path), logger: logger)
            try await database.configureSQLite(file: true)
            return database
        case .sqliteMemory:
            let connection = try await SQLiteConnection.open(storage: .memory, logger: logger)
            let database = KessaiDatabase(kind: .sqlite, backend: .sqlite(connection, AsyncLock(), path: nil), logger: logger)
            try await database.configureSQLite(file: false)
            return database
        case .postgres(let url):
            guard let configuration = try? SQLPostgresConfiguration(url: url) else { throw StorageError.invalidURL }
            let core = configuration.coreConfiguration
            guard let host = core.host else { throw StorageError.invalidURL }
            var clientConfiguration = PostgresClient.Configuration(
                host: host,
                port: core.port ?? 5432,
                username: core.username,
                password: core.password,
                database: core.database,
                tls: core.tls.isEnforced ? .require(.makeClientConfiguration()) : .disable
            )
            clientConfiguration.options.maximumConnections = maximumConnections
            clientConfiguration.options.minimumConnections = 0
            let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
            let task = Task { await client.run() }
            return KessaiDatabase(kind: .postgres, backend: .postgres(client, task), logger: logger)
        }
    }

    private func configureSQLite(file: Bool) async throws {
        try await withConnection { db in
            if file {
                try await db.run("PRAGMA journal_mode = WAL")
            }
            // secure_delete overwrites deleted content with zeros, so a deleted row does not
            // linger in free pages of the file.
            try await db.run("PRAGMA secure_delete = ON")
            try await db.run("PRAGMA foreign_keys = ON")
            try await db.run("PRAGMA busy_timeout = 10000")
            try await db.run("PRAGMA synchronous = FULL")
        }
    }

    /// Runs work on one connection, outside any explicit transaction.
    /// - Parameter body: the work; each statement commits on its own.
    /// - Returns: what `body` returns.
    public func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let connection, let lock, _):
            return try await lock.holding { try await body(KessaiConnection(base: connection.sql(queryLogLevel: nil), driver: .sqlite(connection))) }
        case .postgres(let client, _):
            return try await client.withConnection { connection in
                try await body(KessaiConnection(base: connection.sql(queryLogLevel: nil), driver: .postgres(connection)))
            }
        }
    }

    /// Runs work in one transaction: all of it commits, or none of it does.
    /// - Parameter body: the work.
    /// - Returns: what `body` returns, after the commit.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { db in
            // IMMEDIATE takes SQLite's write lock at the start, so two processes sharing the
            // file fail fast on busy_timeout instead of deadlocking on lock upgrade.
            try await db.run(kind == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")
            do {
                let result = try await body(db)
                try await db.run("COMMIT")
                return result
            } catch {
                try? await db.run("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs work whose only write is one ``ConstantWriteBatch``. On PostgreSQL that batch is one
    /// statement, atomic by itself, so no transaction is opened around it (its reads see
    /// committed rows, as they would in a transaction at PostgreSQL's default isolation); on
    /// SQLite the batch is several statements, so it runs in a transaction.
    /// - Parameter body: the work: reads, then the one batch.
    /// - Returns: what `body` returns, after the batch has committed.
    public func batch<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch kind {
        case .postgres: try await withConnection(body)
        case .sqlite: try await transaction(body)
        }
    }

    /// Whether the database answers a trivial query.
    public func ping() async -> Bool {
        do {
            return try await withConnection { db in
                try await db.run("SELECT 1")
                return true
            }
        } catch {
            return false
        }
    }

    /// Writes SQLite's write-ahead log back into the main file and truncates it.
    public func checkpoint() async throws {
        guard kind == .sqlite else { return }
        try await withConnection { db in try await db.run("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Closes the connection or the pool.
    public func close() async {
        switch backend {
        case .sqlite(let connection, let lock, _):
            await lock.acquire()
            try? await connection.close()
            await lock.release()
        case .postgres(_, let task):
            task.cancel()
            await task.value
        }
    }
}

extension SQLDatabase {
    /// Runs a statement that is a compile-time constant. `StaticString` makes it impossible to
    /// pass text built from input here; values always go through the query builders as binds.
    /// - Parameter sql: the constant statement.
    public func run(_ sql: StaticString) async throws {
        try await self.execute(sql: SQLRaw("\(sql)")) { _ in }
    }
}

extension SQLDatabase {
    /// Runs writes that do not read each other's effects (inserts and updates of different
    /// rows): on PostgreSQL as one statement, each write a data-modifying `WITH` clause, which
    /// saves a round trip per write and applies all of them or none; elsewhere one after another.
    /// - Parameter writes: built statements (bound parameters only).
    public func runWrites(_ writes: [any SQLExpression]) async throws {
        guard writes.count > 1, dialect.name == "postgresql" else {
            for write in writes { try await execute(sql: write) { _ in } }
            return
        }
        try await execute(sql: WriteBatch(writes: writes)) { _ in }
    }
}

/// `WITH w0 AS (…), w1 AS (…) SELECT 1`: PostgreSQL runs every data-modifying clause exactly
/// once, on one snapshot, whether or not the final query reads it.
private struct WriteBatch: SQLExpression {
    let writes: [any SQLExpression]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("WITH ")
        for (index, write) in writes.enumerated() {
            if index > 0 { serializer.write(", ") }
            serializer.write("w\(index) AS (")
            write.serialize(to: &serializer)
            serializer.write(")")
        }
        serializer.write(" SELECT 1")
    }
}

extension SQLDatabase {
    /// Runs a built query (bound parameters only) and counts the rows it returns.
    public func countRows(of query: any SQLExpression) async throws -> Int {
        let counter = RowCounter()
        try await self.execute(sql: query) { _ in counter.add() }
        return counter.value
    }
}

private final class RowCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
