import Console
import Crypto
// Full Foundation: ISO 8601 parsing of the export window.
import Foundation
import Hummingbird
import Ledger
import Logging
import Response
import Sentinel
import ServiceLifecycle
import Vault
import Webhooks

extension KessaiRequestContext: ConsoleRequestContext {}

extension Gateway {
    /// The console's view of the gateway. Authenticator secrets are sealed under a key derived
    /// from the key source (an HMAC of a fixed label), so they are as safe as the API-key hashes.
    public func consoleServices() throws -> ConsoleServices {
        let sealKey = SymmetricKey(data: try keySource.mac(Data("kessai console authenticator seal v1".utf8), purpose: .apiKeyHash))
        var services = ConsoleServices(
            database: database, ledger: ledger, clock: clock, failures: failures, sealer: SecretSealer(key: sealKey), merchants: merchants,
            payments: payments, webhookEndpoints: webhookEndpoints, publicURL: configuration.resolvedPublicURL,
            idleTimeout: configuration.consoleIdleTimeout)
        let development = configuration.mode == .development
        let publicOnly = configuration.webhooksPublicOnly
        services.webhookEventTypes = EventsController.eventTypes.sorted()
        services.webhookURLAcceptable = { WebhookEndpointsController.acceptable($0, development: development, publicAddressesOnly: publicOnly) }
        let files = fileIntegrity()
        services.rebaseline = { actor in try await files.baseline(actor: actor) }
        let (database, ledger, vault) = (database, ledger, vault)
        let origins = EmbeddingOrigins(database: database, ledger: ledger, clock: clock)
        services.embeddingOrigins = EmbeddingOriginsAccess(
            list: { merchant in try await origins.list(merchant).map { ($0.id, $0.origin) } },
            add: { merchant, text, actor, source in
                guard let origin = EmbeddingOrigins.normalize(text), try await origins.list(merchant).count < EmbeddingOrigins.maximumPerMerchant else {
                    return false
                }
                _ = try await origins.add(origin, merchant: merchant, context: AccessContext(actor: actor, source: source))
                return true
            },
            remove: { merchant, id, actor, source in try await origins.remove(id, merchant: merchant, context: AccessContext(actor: actor, source: source)) })
        let publicKey = try keySource.checkpointPublicKey()
        services.exportCards = { subject, approval, actor, source in
            func millis(_ text: String?) -> Int64? {
                guard let text else { return nil }
                if let seconds = Int64(text) { return (0...100_000_000_000).contains(seconds) ? seconds * 1000 : nil }
                return ISO8601DateFormatter().date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
            }
            guard let from = millis(subject["from"]), let to = millis(subject["to"]), from < to else { throw CardExport.Failure.badFile }
            let recipient = try CardExport.recipient(subject["recipient"] ?? "")
            var query = ExposureScope.Query(from: from, to: to)
            query.instance = subject["instance"]
            let scope = try await ExposureScope(database: database, ledger: ledger, verifier: LedgerVerifier(database: database, publicKey: publicKey))
                .compute(query)
            return try await CardExport.make(
                scope: scope, recipient: recipient, approval: approval, vault: vault, database: database, ledger: ledger, actor: actor, source: source)
        }
        let check = try ledgerCheck()
        services.verifyLedger = { actor, source in
            try await check.run(startedBy: "console:\(actor.id)", actor: actor, source: source).verification
        }
        services.exposureScope = { query in
            try await ExposureScope(database: database, ledger: ledger, verifier: LedgerVerifier(database: database, publicKey: publicKey)).compute(query)
        }
        return services
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
    let app = try buildApplication(gateway, observability: observability)
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
