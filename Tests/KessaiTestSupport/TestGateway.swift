public import HTTP
public import KessaiCore
public import Ledger
public import Logging
import Merchants
import SQLKit
public import Storage
import Synchronization
public import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A clock the test moves by hand.
public final class TestClock: KessaiClock {
    private let current: Mutex<Date>
    public init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) { current = Mutex(start) }
    public func now() -> Date { current.withLock { $0 } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Keeps every log line a test produces, so tests can scan them.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    public init() {}

    public var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger whose lines (message and metadata) go here.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "kessai-test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = level
        return logger
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}

/// Which databases the suites run on: SQLite always, PostgreSQL when
/// `KESSAI_TEST_DATABASE_URL` names a server whose user may create databases.
public enum TestBackend: String, Sendable, CustomStringConvertible, CaseIterable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The backends available in this run.
    public static var available: [TestBackend] {
        ProcessInfo.processInfo.environment["KESSAI_TEST_DATABASE_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// A gateway on a fresh temporary data directory and a fresh database, torn down afterwards.
public struct TestGateway: Sendable {
    public let gateway: Gateway
    public let clock: TestClock
    public let logs: LogCapture
    public let directory: String
    public let backend: TestBackend
    let databaseName: String?

    /// Opens one, runs `body`, and removes everything.
    public static func with<T: Sendable>(
        _ backend: TestBackend,
        securityCodeLifetime: TimeInterval = 600,
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        _ body: (TestGateway) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.path + "/kessai-test-" + Base62.random(count: 10)
        let clock = TestClock()
        let logs = LogCapture()
        var configuration = GatewayConfiguration()
        configuration.dataDirectory = directory
        configuration.securityCodeLifetime = securityCodeLifetime
        configuration.databaseConnections = 4
        configure(&configuration)
        var databaseName: String? = nil
        if backend == .postgres {
            let (url, name) = try await createDatabase()
            configuration.databaseURL = url
            databaseName = name
        }
        let (gateway, _) = try await Gateway.open(configuration, logger: logs.logger(), clock: clock, createDemoMerchant: false)
        let test = TestGateway(gateway: gateway, clock: clock, logs: logs, directory: directory, backend: backend, databaseName: databaseName)
        do {
            let result = try await body(test)
            await test.tearDown()
            return result
        } catch {
            await test.tearDown()
            throw error
        }
    }

    func tearDown() async {
        await gateway.close()
        try? FileManager.default.removeItem(atPath: directory)
        if let databaseName { try? await Self.dropDatabase(databaseName) }
    }

    /// The URL of the test's own PostgreSQL database, when on PostgreSQL.
    public var databaseURL: String? { gateway.configuration.databaseURL }

    /// Creates a merchant and returns its id and keys.
    public func merchant(_ name: String = "Test Shop") async throws -> (id: MerchantID, secret: String, publishable: String) {
        let (merchant, keys) = try await gateway.merchants.create(name: name)
        return (merchant.id, keys.secretKey.exposed, keys.publishableKey)
    }

    /// Counts the rows of a table.
    public func count(_ table: String) async throws -> Int {
        try await gateway.database.withConnection { db in
            let row = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(table).first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["KESSAI_TEST_DATABASE_URL"] else { throw StorageError.invalidURL }
        return url
    }

    static func createDatabase() async throws -> (url: String, name: String) {
        let admin = try adminURL()
        let name = "kessai_test_" + Base62.random(count: 12).lowercased()
        let database = try await KessaiDatabase.open(.postgres(url: admin), maximumConnections: 1, logger: Logger(label: "test-admin"))
        do {
            try await database.withConnection { db in
                try await db.execute(sql: SQLQueryString("CREATE DATABASE \(ident: name)")) { _ in }
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        guard let slash = admin.lastIndex(of: "/") else { throw StorageError.invalidURL }
        return (String(admin[...slash]) + name, name)
    }

    static func dropDatabase(_ name: String) async throws {
        let database = try await KessaiDatabase.open(.postgres(url: try adminURL()), maximumConnections: 1, logger: Logger(label: "test-admin"))
        try? await database.withConnection { db in
            try await db.execute(sql: SQLQueryString("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)")) { _ in }
        }
        await database.close()
    }
}

extension Date {
    /// The same instant, for readable test setup.
    public static let testNow = Date(timeIntervalSince1970: 1_795_000_000)
}

extension AccessContext {
    /// The context tests act in.
    public static let test = AccessContext(actor: LedgerActor(.operator, "test"), requestID: "req_test")
}
