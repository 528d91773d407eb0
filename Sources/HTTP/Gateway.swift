public import Acquiring
public import KessaiCore
public import Ledger
public import Logging
public import Merchants
public import Operators
public import Payments
public import Storage
public import Vault
import Webhooks

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// How a gateway process is configured, from flags and `KESSAI_*` variables.
public struct GatewayConfiguration: Sendable {
    public enum Mode: String, Sendable {
        /// Generates a key file and a demo merchant on first start.
        case development
        /// Refuses to start without a key file; creates nothing by itself.
        case production
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./kessai-data"
    /// `postgres://…`; SQLite in ``dataDirectory`` when `nil`.
    public var databaseURL: String?
    /// The key file; `<data-dir>/kessai.keys` when `nil`.
    public var keyFile: String?
    public var mode: Mode = .development
    /// Seconds a security code may wait for its first authorization (1…600).
    public var securityCodeLifetime: TimeInterval = Vault.maximumSecurityCodeLifetime
    /// The largest request body accepted.
    public var maximumBodyBytes = 32 * 1024
    /// PostgreSQL pool size per process.
    public var databaseConnections = 16
    /// Sign a ledger checkpoint after this many new entries…
    public var checkpointEvery = 1_000
    /// …or after this many seconds, whichever comes first (when the log grew).
    public var checkpointInterval: TimeInterval = 60
    /// A file each checkpoint is appended to as a JSON line, for a copy off the host.
    public var checkpointCopyFile: String?
    /// The address browsers reach Kessai at (3-D Secure pages, hosted pages); by default
    /// `http://host:port`.
    public var publicURL: String?
    /// The simulated acquirer's answer delay.
    public var testAcquirerLatency: Duration = .zero
    /// Seconds an acquirer attempt may stay unanswered before it is settled from the acquirer's
    /// records (longer than any acquirer call can take).
    public var reconcileAfter: TimeInterval = 30
    /// Seconds an `Idempotency-Key` stays claimed by a request that has not finished (a process
    /// killed mid-request releases its keys after this).
    public var idempotencyLease: TimeInterval = 30
    /// Seconds before the first webhook retry; each later retry waits twice as long.
    public var webhookRetryBase: TimeInterval = 60
    /// Webhooks go only to public internet addresses (``WebhookAddress``); `nil` means in
    /// production only, so development can send to a receiver on this machine.
    public var webhookPublicAddressesOnly: Bool?
    /// Whether webhooks go only to public addresses, as configured or by mode.
    public var webhooksPublicOnly: Bool { webhookPublicAddressesOnly ?? (mode == .production) }
    /// The folder payment-page scripts are served from (`web/`); nil finds it (``WebRoot``).
    public var webRoot: String?
    /// Seconds between checks of the served scripts against the inventory.
    public var integrityInterval: TimeInterval = 300
    /// How many refused authentications per source and window are written in full.
    public var failureRecording = FailureRecorder.Policy()
    /// Seconds a connection may stay silent — including while its request head arrives — before
    /// it is closed.
    public var idleTimeout: TimeInterval = 30
    /// Seconds a request's body may take to arrive once its head has.
    public var bodyTimeout: TimeInterval = 30
    /// Connections one process serves at once; more wait in the listen backlog.
    public var maximumConnections = 512
    /// Card tries allowed per PaymentIntent, per checkout session, and per source address a minute.
    public var cardAttempts = CardAttemptPolicy()
    /// False only to measure the ledger's cost in a benchmark (development mode only).
    public var ledgerRecording = true
    /// Who may read `GET /metrics` (``MetricsExposure``).
    public var metricsExposure: MetricsExposure = .loopback
    /// The OTLP/HTTP collector traces go to (``KessaiTracing``); no tracing when `nil`.
    public var otelEndpoint: String?
    /// Seconds a console or dashboard session may stay idle (PCI DSS 8.2.8: at most 900).
    public var consoleIdleTimeout: Int64 = 900
    /// `host:port` of the operator console's own listener. In development without it, the
    /// console answers on the gateway's port; in production it is only ever on this listener
    /// (default `127.0.0.1:<port + 1>`), never on the public one.
    public var consoleListen: String?
    /// This process's name in the ledger (`--instance`); `hostname:pid` when not given.
    public var instance: String?
    public var resolvedInstance: String {
        if let instance { return instance }
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        return "\(host):\(getpid())"
    }
    /// Whether this process runs the sentinel (detection rules, file checks, reminders).
    public var sentinel = true
    /// Seconds between file-integrity checks (the watched files are compared with the baseline).
    public var fileCheckInterval = 15
    /// Seconds between the sentinel's verifications of the whole ledger (one process runs each).
    public var ledgerVerifyInterval: Int64 = 3600
    /// Whether the binary's folder is watched; by default in production only (in development the
    /// build folder holds hundreds of megabytes that change at every build).
    public var watchBinaryFolder: Bool?
    /// More files or folders (configuration) to watch.
    public var watchedPaths: [String] = []
    /// Seconds between reminders for an incident nobody acknowledged.
    public var incidentReminderInterval: Int64 = 900
    /// The operations webhook incidents are sent to, and its signing secret.
    public var opsWebhookURL: String?
    public var opsWebhookSecret: String?

    /// Where the operator console listens apart from the gateway, if it does.
    public var consoleListener: (host: String, port: Int)? {
        if let consoleListen {
            let parts = consoleListen.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, let port = Int(parts.last!), (0...65_535).contains(port) else { return nil }
            return (parts.dropLast().joined(separator: ":"), port)
        }
        return mode == .production ? ("127.0.0.1", port + 1) : nil
    }

    public init() {}

    public var resolvedPublicURL: String {
        var url = publicURL ?? "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    public var resolvedKeyFile: String { keyFile ?? Self.join(dataDirectory, "kessai.keys") }

    public var databaseLocation: DatabaseLocation {
        if let databaseURL { return .postgres(url: databaseURL) }
        return .sqliteFile(path: Self.join(dataDirectory, "kessai.sqlite"))
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

/// Card tries allowed before Kessai refuses more (``AttemptLimits``).
public struct CardAttemptPolicy: Sendable {
    /// Confirmations of one PaymentIntent.
    public var perIntent = 10
    /// Card tries on one checkout session; the session expires when the last one fails.
    public var perSession = 8
    /// Tries from a buyer's browser (publishable key, checkout page) per source address a minute.
    public var perSourcePerMinute = 60

    public init() {}
}

/// Everything a gateway process holds: the database, the key source, the vault and the stores.
/// `kessai serve` and every CLI command open one of these.
public struct Gateway: Sendable {
    var webhookEndpoints: WebhookEndpoints { WebhookEndpoints(database: database, keySource: keySource, clock: clock) }
    var securityEvents: SecurityEvents { SecurityEvents(database: database, ledger: ledger, clock: clock, logger: logger) }
    /// The simulated e-money provider (its page is served by Kessai in test mode).
    var emoneyProvider: TestEMoneyProvider { TestEMoneyProvider(database: database, clock: clock) }
    /// Konbini, Pay-easy and e-money, through the simulated store network, bank service and provider.
    public var cash: CashPayments {
        CashPayments(
            database: database,
            networks: [
                TestCashNetwork(method: "konbini", database: database, clock: clock), TestCashNetwork(method: "payeasy", database: database, clock: clock),
            ],
            providers: [emoneyProvider], clock: clock, logger: logger, events: EventRecorder(publicURL: configuration.resolvedPublicURL, clock: clock),
            publicURL: configuration.resolvedPublicURL)
    }

    public let configuration: GatewayConfiguration
    public let database: KessaiDatabase
    public let keySource: any KeySource & CheckpointSigner
    public let vault: Vault
    public let ledger: Ledger
    public let merchants: MerchantStore
    public let operatorTokens: OperatorTokenStore
    /// Refused authentications, written to the ledger in full up to a limit per source and window.
    public let failures: FailureRecorder
    public let paymentMethods: PaymentMethodStore
    public let acquirer: TestAcquirer
    public let payments: CardPayments
    public let clock: any KessaiClock
    public let logger: Logger

    /// What happened while opening, for the command line to announce.
    public struct Announcements: Sendable {
        /// A development key file was generated.
        public var generatedKeyFile: String?
        /// The demo merchant created on first start, with its keys (shown once).
        public var demoMerchant: (Merchant, IssuedKeys)?
    }

    /// Opens the database, applies migrations, loads (or in development generates) the key file,
    /// and in development creates the demo merchant when there is no merchant yet.
    public static func open(
        _ configuration: GatewayConfiguration,
        logger: Logger,
        clock: any KessaiClock = SystemClock(),
        securityCodes: any SecurityCodeStore = InMemorySecurityCodeStore(),
        createDemoMerchant: Bool = true
    ) async throws -> (Gateway, Announcements) {
        var announcements = Announcements()
        // Everything Kessai writes (database, WAL, key file, exports) is for this user only.
        umask(0o077)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyPath = configuration.resolvedKeyFile
        let keySource: FileKeySource
        if FileManager.default.fileExists(atPath: keyPath) {
            keySource = try FileKeySource(path: keyPath)
        } else if configuration.mode == .development {
            keySource = try FileKeySource.generate(path: keyPath, purpose: "development")
            announcements.generatedKeyFile = keyPath
        } else {
            throw VaultError.keyFile("\(keyPath) does not exist; production mode never generates keys")
        }
        let database = try await KessaiDatabase.open(configuration.databaseLocation, maximumConnections: configuration.databaseConnections, logger: logger)
        do {
            try await Migrator(database: database, logger: logger).migrate()
            let keyRing = KeyRing(source: keySource, database: database, clock: clock)
            try await keyRing.prepare()
            let ledger = Ledger(database: database, clock: clock, recording: configuration.ledgerRecording, instance: configuration.resolvedInstance)
            let vault = Vault(
                keyRing: keyRing, securityCodes: securityCodes, ledger: ledger, clock: clock,
                securityCodeLifetime: configuration.securityCodeLifetime
            )
            // Fingerprints are per merchant; rows from before are converted once (nothing is decrypted).
            try await vault.migrateMerchantFingerprints(in: database)
            try await Idempotency.hashClearKeys(database: database, keySource: keySource)
            let merchants = MerchantStore(database: database, hasher: KeySourceHasher(source: keySource), ledger: ledger, clock: clock)
            let acquirer = TestAcquirer(database: database, clock: clock, latency: configuration.testAcquirerLatency)
            let payments = CardPayments(
                database: database, vault: vault, acquirer: acquirer, clock: clock, logger: logger,
                events: EventRecorder(publicURL: configuration.resolvedPublicURL, clock: clock), reconcileAfter: configuration.reconcileAfter)
            let gateway = Gateway(
                configuration: configuration, database: database, keySource: keySource, vault: vault, ledger: ledger,
                merchants: merchants,
                operatorTokens: OperatorTokenStore(database: database, ledger: ledger, clock: clock) { try KeySourceHasher(source: keySource).hash($0) },
                failures: FailureRecorder(ledger: ledger, clock: clock, policy: configuration.failureRecording),
                paymentMethods: PaymentMethodStore(database: database, vault: vault, clock: clock),
                acquirer: acquirer, payments: payments, clock: clock, logger: logger
            )
            if configuration.mode == .development, createDemoMerchant, try await merchants.count() == 0 {
                announcements.demoMerchant = try await merchants.create(name: "Demo Shop")
            }
            return (gateway, announcements)
        } catch {
            await database.close()
            throw error
        }
    }

    /// Closes the database.
    public func close() async {
        await database.close()
    }
}

/// API-key hashing with the key source's dedicated MAC key.
struct KeySourceHasher: APIKeyHasher {
    let source: any KeySource
    func hash(_ key: String) throws -> String {
        Hex.encode(try source.mac(Data(key.utf8), purpose: .apiKeyHash))
    }
}
