import ArgumentParser
import HTTP
import Logging

@main
struct Kessai: AsyncParsableCommand {
    /// This build's version (the SBOM's application component).
    static let version = "0.9.0"

    static let configuration = CommandConfiguration(
        commandName: "kessai",
        abstract: "Kessai, a card payment gateway whose stolen database cannot be opened.",
        version: Kessai.version,
        subcommands: [
            Serve.self, Migrate.self, Merchants.self, Keys.self, VaultCommand.self, LedgerCommand.self, OperatorsCommand.self, UsersCommand.self,
            SentinelCommand.self, IncidentsCommand.self, IncidentResponseCommand.self, SBOMCommand.self, AdvisoriesCommand.self,
            ScansCommand.self, Simulate.self,
            RefundsCommand.self,
            Bench.self,
        ]
    )
}

/// Options every command shares. Each falls back to a `KESSAI_*` environment variable.
struct GatewayOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory for the SQLite database and the development key file (KESSAI_DATA_DIR; default ./kessai-data).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/database to use PostgreSQL (KESSAI_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("database-connections"), help: "PostgreSQL connections per process, 1 to 200 (KESSAI_DATABASE_CONNECTIONS; default 16).")
    var databaseConnections: Int?

    @Option(name: .customLong("key-file"), help: "Key file (KESSAI_KEY_FILE; default <data-dir>/kessai.keys).")
    var keyFile: String?

    @Option(help: "development or production (KESSAI_MODE; default development).")
    var mode: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (KESSAI_LOG_LEVEL; default info).")
    var logLevel: String?

    func resolve() throws -> GatewayConfiguration {
        let env = ProcessEnvironment.values
        var configuration = GatewayConfiguration()
        configuration.dataDirectory = dataDirectory ?? env["KESSAI_DATA_DIR"] ?? configuration.dataDirectory
        configuration.databaseURL = databaseURL ?? env["KESSAI_DATABASE_URL"]
        configuration.keyFile = keyFile ?? env["KESSAI_KEY_FILE"]
        if let connections = databaseConnections ?? env["KESSAI_DATABASE_CONNECTIONS"].flatMap(Int.init) {
            guard (1...200).contains(connections) else { throw ValidationError("--database-connections must be 1…200") }
            configuration.databaseConnections = connections
        }
        let modeText = mode ?? env["KESSAI_MODE"] ?? "development"
        guard let mode = GatewayConfiguration.Mode(rawValue: modeText) else {
            throw ValidationError("--mode must be development or production")
        }
        configuration.mode = mode
        if let url = configuration.databaseURL, !url.hasPrefix("postgres://"), !url.hasPrefix("postgresql://") {
            throw ValidationError("--database-url must start with postgres://")
        }
        return configuration
    }

    func makeLogger(label: String = "kessai") throws -> Logger {
        let text = logLevel ?? ProcessEnvironment.values["KESSAI_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text) else { throw ValidationError("unknown --log-level \(text)") }
        LoggingSystem.bootstrap { label in
            var handler = StructuredLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

extension GatewayOptions {
    /// Opens a gateway (without creating the demo merchant), runs `body`, and closes it whatever happens.
    func withGateway<T>(adjust: (inout GatewayConfiguration) -> Void = { _ in }, _ body: (Gateway) async throws -> T) async throws -> T {
        var configuration = try resolve()
        adjust(&configuration)
        let (gateway, _) = try await Gateway.open(configuration, logger: makeLogger(), createDemoMerchant: false)
        do {
            let result = try await body(gateway)
            await gateway.close()
            return result
        } catch {
            await gateway.close()
            throw error
        }
    }
}
