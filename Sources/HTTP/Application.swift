public import Hummingbird
import Logging
import ServiceLifecycle
import Vault

/// Builds the router: health, readiness and the merchant API.
/// - Parameter gateway: the opened gateway.
/// - Returns: the router, ready for an application or for tests.
public func buildRouter(_ gateway: Gateway) -> Router<KessaiRequestContext> {
    let router = Router(context: KessaiRequestContext.self)
    router.add(middleware: RequestMiddleware())
    let reader = ParameterReader(maximumBodyBytes: gateway.configuration.maximumBodyBytes)
    let authenticator = Authenticator(merchants: gateway.merchants)
    HealthController(database: gateway.database).register(on: router)
    PaymentMethodsController(store: gateway.paymentMethods, authenticator: authenticator, reader: reader, clock: gateway.clock)
        .register(on: router)
    return router
}

/// Builds the gateway application: the router, the security-code expiry job, and closing the
/// database after the server has drained on SIGTERM.
/// - Parameter gateway: the opened gateway.
/// - Returns: an application whose `runService()` serves until SIGTERM or SIGINT.
public func buildApplication(_ gateway: Gateway) -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(gateway),
        configuration: .init(address: .hostname(gateway.configuration.host, port: gateway.configuration.port), serverName: "kessai"),
        logger: gateway.logger
    )
    app.addServices(SecurityCodeExpiryService(vault: gateway.vault, logger: gateway.logger))
    return app
}

/// Destroys security codes whose time is up, once a second.
struct SecurityCodeExpiryService: Service {
    let vault: Vault
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let destroyed = await vault.destroyExpiredSecurityCodes()
            if destroyed > 0 {
                logger.info("security codes destroyed", metadata: ["event": "cvc_destroyed", "count": "\(destroyed)", "reason": "expired"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
