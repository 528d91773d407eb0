import ArgumentParser
import HTTP
import Hummingbird
import Logging
import NIOCore
import NIOPosix

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway until SIGTERM or SIGINT; in-flight requests are drained first.")

    @OptionGroup var options: GatewayOptions

    @Option(help: "Address to listen on (KESSAI_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (KESSAI_PORT; default 8080).")
    var port: Int?

    @Option(
        name: .customLong("security-code-ttl"),
        help: "Seconds a security code may wait for its first authorization, 1 to 600 (KESSAI_SECURITY_CODE_TTL; default 600).")
    var securityCodeTTL: Int?

    @Option(
        name: .customLong("checkpoint-copy"), help: "Append every ledger checkpoint to this file too, ideally on another host's mount (KESSAI_CHECKPOINT_COPY)."
    )
    var checkpointCopy: String?

    @Option(
        name: .customLong("public-url"),
        help: "The address browsers reach Kessai at, for 3-D Secure and hosted pages (KESSAI_PUBLIC_URL; default http://host:port).")
    var publicURL: String?

    @Option(
        name: .customLong("reconcile-after"),
        help: "Seconds an unanswered acquirer attempt waits before it is settled from the acquirer's records, 1 to 3600 (KESSAI_RECONCILE_AFTER; default 30).")
    var reconcileAfter: Int?

    @Option(
        name: .customLong("idempotency-lease"),
        help: "Seconds an Idempotency-Key stays claimed by an unfinished request, 1 to 3600 (KESSAI_IDEMPOTENCY_LEASE; default 30).")
    var idempotencyLease: Int?

    @Option(
        name: .customLong("test-acquirer-latency-ms"), help: "Delay of the test acquirer's answers, 0 to 10000 ms (KESSAI_TEST_ACQUIRER_LATENCY_MS; default 0)."
    )
    var testAcquirerLatency: Int?

    @Option(
        name: .customLong("webhook-retry-base"),
        help: "Seconds before the first webhook retry, doubling after each failure, 1 to 3600 (KESSAI_WEBHOOK_RETRY_BASE; default 60).")
    var webhookRetryBase: Int?

    @Option(
        name: .customLong("web-root"),
        help:
            "Folder of the payment-page scripts (kessai.js), checked against the inventory compiled into Kessai (KESSAI_WEB_ROOT; default ./web or the repository's web/)."
    )
    var webRoot: String?

    @Option(
        name: .customLong("integrity-interval"),
        help: "Seconds between checks of the served scripts against the inventory, 1 to 86400 (KESSAI_INTEGRITY_INTERVAL; default 300).")
    var integrityInterval: Int?

    @Option(
        name: .customLong("idle-timeout"),
        help:
            "Seconds a connection may send nothing complete (a half-sent request head included) before it is closed, 1 to 3600 (KESSAI_IDLE_TIMEOUT; default 30)."
    )
    var idleTimeout: Int?

    @Option(
        name: .customLong("body-timeout"),
        help: "Seconds a request body may take to arrive after its head, 1 to 3600 (KESSAI_BODY_TIMEOUT; default 30).")
    var bodyTimeout: Int?

    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once by this process, 1 to 100000; more wait in the listen backlog (KESSAI_MAX_CONNECTIONS; default 512).")
    var maximumConnections: Int?

    @Option(
        name: .customLong("metrics"),
        help:
            "Who may read GET /metrics: loopback (peers on this host, or an operator token), operator (an operator token only), off (KESSAI_METRICS; default loopback)."
    )
    var metrics: String?

    @Option(
        name: .customLong("otel-endpoint"),
        help: "Export traces over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318 (KESSAI_OTEL_ENDPOINT; default: no tracing).")
    var otelEndpoint: String?

    @Option(
        name: .customLong("console-idle-timeout"),
        help: "Seconds a console or dashboard session may stay idle, 1 to 900 (KESSAI_CONSOLE_IDLE_TIMEOUT; default 900, PCI DSS 8.2.8).")
    var consoleIdleTimeout: Int?

    @Option(name: .customLong("instance"), help: "This process's name in the ledger (KESSAI_INSTANCE; default hostname:pid).")
    var instance: String?

    @Option(name: .customLong("sentinel"), help: "on or off: run the sentinel in this process (KESSAI_SENTINEL; default on).")
    var sentinel: String?

    @Option(name: .customLong("file-check-interval"), help: "Seconds between file-integrity checks, 2 to 3600 (KESSAI_FILE_CHECK_INTERVAL; default 15).")
    var fileCheckInterval: Int?

    @Option(
        name: .customLong("ledger-verify-interval"),
        help: "Seconds between the sentinel's verifications of the whole ledger, 5 to 86400 (KESSAI_LEDGER_VERIFY_INTERVAL; default 3600).")
    var ledgerVerifyInterval: Int?

    @Flag(name: .customLong("watch-binary"), inversion: .prefixedNo, help: "Watch the binary's folder for changes (default: in production only).")
    var watchBinary: Bool?

    @Option(name: .customLong("watch"), help: "Another file or folder to watch, e.g. a configuration file (repeatable; KESSAI_WATCH, comma-separated).")
    var watch: [String] = []

    @Option(name: .customLong("incident-reminder"), help: "Seconds between reminders for an unacknowledged incident, 60 to 86400 (default 900).")
    var incidentReminder: Int?

    @Option(
        name: .customLong("ops-webhook-url"), help: "Where incidents are also sent as signed webhooks (KESSAI_OPS_WEBHOOK_URL; with KESSAI_OPS_WEBHOOK_SECRET)."
    )
    var opsWebhookURL: String?

    @Option(
        name: .customLong("console-listen"),
        help:
            "host:port of the operator console's own listener, an internal address (KESSAI_CONSOLE_LISTEN). Development without it: /console on the gateway's port; production default 127.0.0.1:<port+1>."
    )
    var consoleListen: String?

    @Flag(
        name: .customLong("benchmark-without-ledger"),
        help: ArgumentHelp(
            "Record nothing in the ledger: only to measure the ledger's cost in a benchmark; refused outside development mode.", visibility: .hidden))
    var benchmarkWithoutLedger = false

    func run() async throws {
        // Run Swift concurrency on NIO's event loops: request handlers and database I/O then
        // share threads instead of hopping between the dispatch pool and the event loops.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let env = ProcessEnvironment.values
        var configuration = try options.resolve()
        configuration.host = host ?? env["KESSAI_HOST"] ?? configuration.host
        if let port = port ?? env["KESSAI_PORT"].flatMap(Int.init) {
            guard (1...65535).contains(port) else { throw ValidationError("--port must be 1…65535") }
            configuration.port = port
        }
        if let ttl = securityCodeTTL ?? env["KESSAI_SECURITY_CODE_TTL"].flatMap(Int.init) {
            guard (1...600).contains(ttl) else { throw ValidationError("--security-code-ttl must be 1…600 seconds") }
            configuration.securityCodeLifetime = Double(ttl)
        }
        configuration.checkpointCopyFile = checkpointCopy ?? env["KESSAI_CHECKPOINT_COPY"]
        if let url = publicURL ?? env["KESSAI_PUBLIC_URL"] {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--public-url must start with http:// or https://") }
            configuration.publicURL = url
        }
        if let seconds = reconcileAfter ?? env["KESSAI_RECONCILE_AFTER"].flatMap(Int.init) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--reconcile-after must be 1…3600 seconds") }
            configuration.reconcileAfter = Double(seconds)
        }
        if let seconds = idempotencyLease ?? env["KESSAI_IDEMPOTENCY_LEASE"].flatMap(Int.init) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--idempotency-lease must be 1…3600 seconds") }
            configuration.idempotencyLease = Double(seconds)
        }
        if let seconds = webhookRetryBase ?? env["KESSAI_WEBHOOK_RETRY_BASE"].flatMap(Int.init) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--webhook-retry-base must be 1…3600 seconds") }
            configuration.webhookRetryBase = Double(seconds)
        }
        if let milliseconds = testAcquirerLatency ?? env["KESSAI_TEST_ACQUIRER_LATENCY_MS"].flatMap(Int.init) {
            guard (0...10_000).contains(milliseconds) else { throw ValidationError("--test-acquirer-latency-ms must be 0…10000") }
            configuration.testAcquirerLatency = .milliseconds(milliseconds)
        }
        configuration.webRoot = webRoot ?? env["KESSAI_WEB_ROOT"]
        if let seconds = integrityInterval ?? env["KESSAI_INTEGRITY_INTERVAL"].flatMap(Int.init) {
            guard (1...86_400).contains(seconds) else { throw ValidationError("--integrity-interval must be 1…86400 seconds") }
            configuration.integrityInterval = Double(seconds)
        }
        if let seconds = idleTimeout ?? env["KESSAI_IDLE_TIMEOUT"].flatMap(Int.init) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--idle-timeout must be 1…3600 seconds") }
            configuration.idleTimeout = Double(seconds)
        }
        if let seconds = bodyTimeout ?? env["KESSAI_BODY_TIMEOUT"].flatMap(Int.init) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--body-timeout must be 1…3600 seconds") }
            configuration.bodyTimeout = Double(seconds)
        }
        if let count = maximumConnections ?? env["KESSAI_MAX_CONNECTIONS"].flatMap(Int.init) {
            guard (1...100_000).contains(count) else { throw ValidationError("--max-connections must be 1…100000") }
            configuration.maximumConnections = count
        }
        if let value = metrics ?? env["KESSAI_METRICS"] {
            guard let exposure = MetricsExposure(rawValue: value) else { throw ValidationError("--metrics must be loopback, operator or off") }
            configuration.metricsExposure = exposure
        }
        if let url = otelEndpoint ?? env["KESSAI_OTEL_ENDPOINT"], !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--otel-endpoint must start with http:// or https://") }
            configuration.otelEndpoint = url
        }
        if let name = instance ?? env["KESSAI_INSTANCE"] {
            guard (1...100).contains(name.count), name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "\\" }) else {
                throw ValidationError("--instance is 1 to 100 printable ASCII characters without spaces, quotes or backslashes")
            }
            configuration.instance = name
        }
        if let value = sentinel ?? env["KESSAI_SENTINEL"] {
            guard value == "on" || value == "off" else { throw ValidationError("--sentinel must be on or off") }
            configuration.sentinel = value == "on"
        }
        if let seconds = fileCheckInterval ?? env["KESSAI_FILE_CHECK_INTERVAL"].flatMap(Int.init) {
            guard (2...3600).contains(seconds) else { throw ValidationError("--file-check-interval must be 2…3600 seconds") }
            configuration.fileCheckInterval = seconds
        }
        if let seconds = ledgerVerifyInterval ?? env["KESSAI_LEDGER_VERIFY_INTERVAL"].flatMap(Int.init) {
            guard (5...86_400).contains(seconds) else { throw ValidationError("--ledger-verify-interval must be 5…86400 seconds") }
            configuration.ledgerVerifyInterval = Int64(seconds)
        }
        if let watchBinary { configuration.watchBinaryFolder = watchBinary }
        configuration.watchedPaths = watch + (env["KESSAI_WATCH"].map { $0.split(separator: ",").map(String.init) } ?? [])
        if let seconds = incidentReminder {
            guard (60...86_400).contains(seconds) else { throw ValidationError("--incident-reminder must be 60…86400 seconds") }
            configuration.incidentReminderInterval = Int64(seconds)
        }
        if let url = opsWebhookURL ?? env["KESSAI_OPS_WEBHOOK_URL"] {
            guard let secret = env["KESSAI_OPS_WEBHOOK_SECRET"], secret.count >= 16 else {
                throw ValidationError("--ops-webhook-url needs KESSAI_OPS_WEBHOOK_SECRET (at least 16 characters) in the environment")
            }
            configuration.opsWebhookURL = url
            configuration.opsWebhookSecret = secret
        }
        if let seconds = consoleIdleTimeout ?? env["KESSAI_CONSOLE_IDLE_TIMEOUT"].flatMap(Int.init) {
            guard (1...900).contains(seconds) else { throw ValidationError("--console-idle-timeout must be 1…900 seconds") }
            configuration.consoleIdleTimeout = Int64(seconds)
        }
        if let listen = consoleListen ?? env["KESSAI_CONSOLE_LISTEN"], !listen.isEmpty {
            configuration.consoleListen = listen
            guard configuration.consoleListener != nil else { throw ValidationError("--console-listen must be host:port") }
        }
        if benchmarkWithoutLedger {
            guard configuration.mode == .development else { throw ValidationError("--benchmark-without-ledger is refused outside development mode") }
            configuration.ledgerRecording = false
        }
        let logger = try options.makeLogger()
        if benchmarkWithoutLedger {
            logger.critical("the ledger is OFF (--benchmark-without-ledger): no card-data access is being recorded; benchmarks only")
        }
        let tracing = try configuration.otelEndpoint.map { try KessaiTracing.bootstrap(endpoint: $0, environment: env, logger: logger) }
        let (gateway, announcements) = try await Gateway.open(configuration, logger: logger)
        Announce.development(announcements, configuration: configuration)
        try await gateway.recordStartConfiguration()
        logger.info(
            "kessai listening",
            metadata: [
                "host": "\(configuration.host)", "port": "\(configuration.port)",
                "database": "\(gateway.database.kind.rawValue)", "mode": "\(configuration.mode.rawValue)",
            ])
        do {
            try await runGateway(gateway, observability: tracing.map { [$0] } ?? [])
        } catch {
            await gateway.close()
            throw error
        }
        await gateway.close()
        logger.info("kessai stopped")
    }
}

enum Announce {
    static func development(_ announcements: Gateway.Announcements, configuration: GatewayConfiguration) {
        if let path = announcements.generatedKeyFile {
            say(
                """
                ************************************************************************
                *  DEVELOPMENT KEY FILE GENERATED: \(path)
                *  These keys are for development only. In production, start with
                *  --mode production and a key file kept off this host's data disk.
                ************************************************************************
                """)
        }
        if let (merchant, keys) = announcements.demoMerchant {
            say(
                """
                Demo merchant created: \(merchant.name) (\(merchant.id), code \(merchant.code))
                  secret key:      \(keys.secretKey.exposed)
                  publishable key: \(keys.publishableKey)
                The secret key is shown this once; `kessai keys roll \(merchant.code)` replaces it.
                """)
        }
    }
}
