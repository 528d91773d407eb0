import Console
import Crypto
import Hummingbird
import Ledger
import Logging
import ServiceLifecycle
import Vault
import Webhooks

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension KessaiRequestContext: ConsoleRequestContext {}

extension Gateway {
    /// The console's view of the gateway. Authenticator secrets are sealed under a key derived
    /// from the key source (an HMAC of a fixed label), so they are as safe as the API-key hashes.
    public func consoleServices() throws -> ConsoleServices {
        let sealKey = SymmetricKey(data: try keySource.mac(Data("kessai console authenticator seal v1".utf8), purpose: .apiKeyHash))
        return ConsoleServices(
            database: database, ledger: ledger, clock: clock, failures: failures, sealer: SecretSealer(key: sealKey), merchants: merchants,
            payments: payments, webhookEndpoints: webhookEndpoints, publicURL: configuration.resolvedPublicURL,
            idleTimeout: configuration.consoleIdleTimeout)
    }

    /// Which applications answer on the gateway's own port: both in development (unless the
    /// console has a listener of its own), only the merchants' dashboard otherwise.
    var consoleAppsOnGatewayPort: [ConsoleApp] {
        configuration.consoleListener == nil ? ConsoleApp.allCases : [.dashboard]
    }
}

/// The operator console on its own listener (an internal address), when configured.
func buildConsoleApplication(_ gateway: Gateway) throws -> (some ApplicationProtocol)? {
    guard let (host, port) = gateway.configuration.consoleListener else { return nil as Application<RouterResponder<KessaiRequestContext>>? }
    let router = Router(context: KessaiRequestContext.self)
    router.add(middleware: RequestMiddleware(strictTransport: gateway.configuration.resolvedPublicURL.hasPrefix("https://")))
    ConsoleSite(services: try gateway.consoleServices()).register(on: router, apps: [.console])
    return Application(
        router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "kessai-console"), logger: gateway.logger)
}

/// Runs the gateway, and the operator console's listener beside it when it has one, until
/// SIGTERM or SIGINT.
public func runGateway(_ gateway: Gateway, observability: [any Service] = []) async throws {
    let app = buildApplication(gateway, observability: observability)
    guard let console = try buildConsoleApplication(gateway) else {
        try await app.runService()
        return
    }
    if let (host, port) = gateway.configuration.consoleListener {
        gateway.logger.info("operator console listening", metadata: ["host": "\(host)", "port": "\(port)"])
    }
    let group = ServiceGroup(
        configuration: .init(services: [app, console], gracefulShutdownSignals: [.sigterm, .sigint], logger: gateway.logger))
    try await group.run()
}
