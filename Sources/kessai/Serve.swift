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
        let logger = try options.makeLogger()
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
            try await buildApplication(gateway).runService()
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
