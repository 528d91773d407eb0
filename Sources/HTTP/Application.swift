import Console
public import Hummingbird
import KessaiCore
import Ledger
import Logging
import Payments
import ServiceLifecycle
import Vault
import Webhooks

/// Builds the router: health, readiness and the merchant API.
/// - Parameter gateway: the opened gateway.
/// - Returns: the router, ready for an application or for tests.
public func buildRouter(_ gateway: Gateway) -> Router<KessaiRequestContext> {
    let router = Router(context: KessaiRequestContext.self)
    router.add(middleware: ObservabilityMiddleware())
    let refusals = Refusals(events: gateway.securityEvents, failures: gateway.failures, clock: gateway.clock, logger: gateway.logger)
    let attempts = AttemptLimits(database: gateway.database, policy: gateway.configuration.cardAttempts, clock: gateway.clock)
    router.add(middleware: RequestMiddleware(strictTransport: gateway.configuration.resolvedPublicURL.hasPrefix("https://"), refusals: refusals))
    router.add(middleware: ProbeDetector(refusals: refusals, maximumBodyBytes: gateway.configuration.maximumBodyBytes))
    let reader = ParameterReader(maximumBodyBytes: gateway.configuration.maximumBodyBytes)
    let authenticator = Authenticator(merchants: gateway.merchants, failures: gateway.failures, clock: gateway.clock)
    HealthController(database: gateway.database).register(on: router)
    let idempotency = Idempotency(
        database: gateway.database, keySource: gateway.keySource, clock: gateway.clock, lease: gateway.configuration.idempotencyLease)
    PaymentMethodsController(
        store: gateway.paymentMethods, authenticator: authenticator, reader: reader, idempotency: idempotency, clock: gateway.clock, cash: gateway.cash
    )
    .register(on: router)
    LedgerController(gateway: gateway).register(on: router)
    MetricsController(exposure: gateway.configuration.metricsExposure, gateway: gateway).register(on: router)
    PaymentIntentsController(
        payments: gateway.payments, authenticator: authenticator, reader: reader, idempotency: idempotency, publicURL: gateway.configuration.resolvedPublicURL,
        cash: gateway.cash, attempts: attempts, refusals: refusals,
        expander: Expander(payments: gateway.payments, paymentMethods: gateway.paymentMethods)
    ).register(on: router)
    ChargesController(payments: gateway.payments, authenticator: authenticator, reader: reader).register(on: router)
    RefundsController(payments: gateway.payments, authenticator: authenticator, reader: reader, idempotency: idempotency, cash: gateway.cash).register(
        on: router)
    CashPaymentsController(
        cash: gateway.cash, provider: gateway.emoneyProvider, authenticator: authenticator, reader: reader, idempotency: idempotency,
        publicURL: gateway.configuration.resolvedPublicURL
    ).register(on: router)
    let origins = EmbeddingOrigins(database: gateway.database, ledger: gateway.ledger, clock: gateway.clock)
    ThreeDSecureController(payments: gateway.payments, paymentMethods: gateway.paymentMethods, reader: reader, origins: origins).register(on: router)
    OpenAPI.register(on: router)
    let publicURL = gateway.configuration.resolvedPublicURL
    EmbeddingOriginsController(origins: origins, authenticator: authenticator, reader: reader, idempotency: idempotency).register(on: router)
    ElementsController(authenticator: authenticator, origins: origins, payments: gateway.payments, reader: reader).register(on: router)
    WebAssetsController(webRoot: WebRoot.resolve(gateway.configuration.webRoot)).register(on: router)
    CSPReportController(events: gateway.securityEvents, limiter: RateWindow(limit: 60, window: .seconds(60))).register(on: router)
    CheckoutController(
        sessions: CheckoutSessions(
            database: gateway.database, payments: gateway.payments, events: EventRecorder(publicURL: publicURL, clock: gateway.clock), clock: gateway.clock
        ),
        payments: gateway.payments, paymentMethods: gateway.paymentMethods, authenticator: authenticator, reader: reader, idempotency: idempotency,
        clock: gateway.clock, publicURL: publicURL, attempts: attempts, refusals: refusals
    ).register(on: router)
    EventsController(events: EventStore(database: gateway.database), authenticator: authenticator, reader: reader).register(on: router)
    WebhookEndpointsController(
        endpoints: gateway.webhookEndpoints, authenticator: authenticator, reader: reader, idempotency: idempotency,
        development: gateway.configuration.mode == .development, publicAddressesOnly: gateway.configuration.webhooksPublicOnly
    ).register(on: router)
    if let console = try? gateway.consoleServices() {
        ConsoleSite(services: console).register(on: router, apps: gateway.consoleAppsOnGatewayPort)
    }
    router.add(middleware: MethodNotAllowed(router: router))
    return router
}

/// Builds the gateway application: the router, the security-code expiry job, and closing the
/// database after the server has drained on SIGTERM.
/// - Parameters:
///   - gateway: the opened gateway.
///   - observability: services run beside the server, such as the trace exporter (``KessaiTracing``).
/// - Returns: an application whose `runService()` serves until SIGTERM or SIGINT.
public func buildApplication(_ gateway: Gateway, observability: [any Service] = []) throws -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(gateway),
        server: ConnectionLimits.server(gateway.configuration),
        configuration: ConnectionLimits.application(gateway.configuration),
        logger: gateway.logger
    )
    app.addServices(
        SecurityCodeExpiryService(vault: gateway.vault, logger: gateway.logger),
        LedgerService(gateway: gateway),
        PaymentsMaintenanceService(gateway: gateway),
        WebhookDeliveryService(
            database: gateway.database, endpoints: gateway.webhookEndpoints,
            sender: LiveWebhookSender(publicAddressesOnly: gateway.configuration.webhooksPublicOnly), clock: gateway.clock, logger: gateway.logger,
            retryBase: gateway.configuration.webhookRetryBase),
        IntegrityService(
            integrity: ScriptIntegrity(webRoot: WebRoot.resolve(gateway.configuration.webRoot)), events: gateway.securityEvents,
            interval: gateway.configuration.integrityInterval, logger: gateway.logger)
    )
    if gateway.configuration.sentinel { app.addServices(try gateway.sentinelService()) }
    for service in observability { app.addServices(service) }
    return app
}

/// Destroys security codes whose time is up, once a second.
struct SecurityCodeExpiryService: Service {
    let vault: Vault
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let destroyed = try await vault.destroyExpiredSecurityCodes()
                if destroyed > 0 {
                    logger.info("security codes destroyed", metadata: ["event": "cvc_destroyed", "count": "\(destroyed)", "reason": "expired"])
                }
            } catch {
                // The codes are destroyed whatever happens; only their ledger entries failed.
                logger.error("recording destroyed security codes failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}

/// Sequences pending ledger entries every second and signs a checkpoint every
/// `checkpointEvery` entries or `checkpointInterval` seconds; signs a last one at shutdown.
struct LedgerService: Service {
    let gateway: Gateway

    func run() async throws {
        let configuration = gateway.configuration
        var lastCheckpoint = ContinuousClock.now
        var lastSize = (try? await gateway.ledger.checkpoints().last?.size) ?? 0
        let metered = configuration.metricsExposure != .off
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await gateway.failures.flush()
                // Counted before the pass: what waited for the sequencer (its lag, in entries).
                let pending = metered ? try await LedgerGauges.pendingCount(gateway.database) : 0
                try await gateway.ledger.sequenceAll()
                let size = try await gateway.ledger.head().size
                if metered { KessaiMetrics.ledger(size: size, pending: pending) }
                let due = ContinuousClock.now - lastCheckpoint >= .seconds(configuration.checkpointInterval)
                if size - lastSize >= configuration.checkpointEvery || (due && size > lastSize) {
                    if let made = try await gateway.ledger.checkpoint(signer: gateway.keySource, copyTo: configuration.checkpointCopyFile) {
                        gateway.logger.info("ledger checkpoint", metadata: ["size": "\(made.size)", "root": "\(Hex.encode(made.root))"])
                    }
                    lastSize = size
                    lastCheckpoint = ContinuousClock.now
                }
            } catch {
                gateway.logger.error("ledger sequencing failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        _ = try? await gateway.failures.flush(all: true)
        _ = try? await gateway.ledger.sequenceAll()
        _ = try? await gateway.ledger.checkpoint(signer: gateway.keySource, copyTo: configuration.checkpointCopyFile)
    }
}

/// Settles acquirer attempts left pending (a process died, or the acquirer did not answer) and
/// forgets idempotency keys older than 24 hours, every few seconds; once at start.
struct PaymentsMaintenanceService: Service {
    let gateway: Gateway

    func run() async throws {
        let idempotency = Idempotency(
            database: gateway.database, keySource: gateway.keySource, clock: gateway.clock, lease: gateway.configuration.idempotencyLease)
        var rounds = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let settled = try await gateway.payments.reconcile(olderThan: gateway.configuration.reconcileAfter)
                if settled > 0 { gateway.logger.info("reconciled payments", metadata: ["count": "\(settled)"]) }
                let handled = try await gateway.cash.runDue()
                if handled > 0 { gateway.logger.info("cash payments expired or paid", metadata: ["count": "\(handled)"]) }
                if rounds % 600 == 0 {
                    try await idempotency.sweep()
                    try await gateway.consoleServices().sessions.sweep()
                }
            } catch {
                gateway.logger.error("payment reconciliation failed", metadata: ["error": "\(error)"])
            }
            rounds += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
