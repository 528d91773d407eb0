public import Hummingbird
public import KessaiCore
public import Ledger
public import Merchants
public import Payments
public import Response
public import Sentinel
public import Storage
public import Webhooks

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a request context must offer the console: the peer's address (for the ledger and the
/// per-source limits).
public protocol ConsoleRequestContext: RequestContext {
    var remoteAddress: String { get }
}

/// Everything the console and the dashboards work with. The gateway builds it (HTTP's
/// `Gateway`); tests build it over a test database.
public struct ConsoleServices: Sendable {
    public let database: KessaiDatabase
    public let ledger: Ledger
    public let clock: any KessaiClock
    public let accounts: AccountStore
    public let signIn: SignIn
    public let sessions: SessionStore
    public let approvals: Approvals
    public let merchants: MerchantStore
    public let payments: CardPayments
    public let webhookEndpoints: WebhookEndpoints
    public let webhookDeliveries: WebhookDeliveries
    public let incidents: IncidentStore
    /// When the ledger last verified, and what each verification found.
    public let verifications: LedgerVerifications
    /// Verifies the whole ledger now (who, from where) and keeps the result; a failure opens an
    /// incident. `nil`: the console offers no button.
    public var verifyLedger: (@Sendable (LedgerActor, String?) async throws -> LedgerVerification)? = nil
    /// One "verify now" at a time in this process.
    let verifying = OneAtATime()
    /// Whether Kessai is reached over TLS: then cookies are `__Host-` and `Secure`.
    public let secureCookies: Bool
    /// Where browsers reach the console (enrollment links point there).
    public let publicURL: String
    /// The merchant API's rules for webhook endpoints, so the dashboard applies the same ones:
    /// the event types, and whether a URL is acceptable.
    public var webhookEventTypes: [String] = []
    public var webhookURLAcceptable: @Sendable (String) -> Bool = { _ in false }
    /// Takes a new file-integrity baseline (the console's step-up action after a deploy).
    public var rebaseline: (@Sendable (LedgerActor) async throws -> Int)? = nil
    /// Seals the cards a scope read in clear for the card brands (HPKE), once a second operator
    /// approved: subject (`from`, `to` ISO 8601, `instance`, `recipient` base64 X25519), the
    /// approval id, who, from where. Returns the file and how many cards it holds.
    /// The merchant's embedding origins (the pages allowed to frame the card fields), through the
    /// merchant API's own store and rules.
    public var embeddingOrigins: EmbeddingOriginsAccess? = nil
    public var exportCards: (@Sendable ([String: String], String, LedgerActor, String?) async throws -> (Data, Int))? = nil
    /// The exposure scope over the verified ledger (the breach response pages).
    public var exposureScope: (@Sendable (ExposureScope.Query) async throws -> ExposureScope.Result)? = nil

    public init(
        database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock, failures: FailureRecorder, sealer: SecretSealer, merchants: MerchantStore,
        payments: CardPayments, webhookEndpoints: WebhookEndpoints, publicURL: String, idleTimeout: Int64 = 900, hasher: PasswordHasher = PasswordHasher(),
        signInPolicy: SignIn.Policy = SignIn.Policy()
    ) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
        self.accounts = AccountStore(database: database, ledger: ledger, clock: clock, hasher: hasher, sealer: sealer)
        self.signIn = SignIn(accounts: accounts, failures: failures, policy: signInPolicy)
        self.sessions = SessionStore(database: database, clock: clock, idleTimeout: idleTimeout)
        self.approvals = Approvals(database: database, ledger: ledger, clock: clock)
        self.merchants = merchants
        self.payments = payments
        self.webhookEndpoints = webhookEndpoints
        self.webhookDeliveries = WebhookDeliveries(database: database, clock: clock)
        self.incidents = IncidentStore(database: database, ledger: ledger, clock: clock)
        self.verifications = LedgerVerifications(database: database, ledger: ledger, clock: clock)
        self.secureCookies = publicURL.hasPrefix("https://")
        self.publicURL = publicURL
    }

    /// The enrollment link for a token.
    public func enrollmentURL(_ app: ConsoleApp, token: Secret<String>) -> String {
        "\(publicURL)\(app.basePath)/enroll/\(token.exposed)"
    }
}

/// What the dashboard may do with a merchant's embedding origins.
public struct EmbeddingOriginsAccess: Sendable {
    public var list: @Sendable (MerchantID) async throws -> [(id: String, origin: String)]
    /// `false` when the text is not an origin (or the merchant has the most it may).
    public var add: @Sendable (MerchantID, String, LedgerActor, String?) async throws -> Bool
    public var remove: @Sendable (MerchantID, String, LedgerActor, String?) async throws -> Bool

    public init(
        list: @escaping @Sendable (MerchantID) async throws -> [(id: String, origin: String)],
        add: @escaping @Sendable (MerchantID, String, LedgerActor, String?) async throws -> Bool,
        remove: @escaping @Sendable (MerchantID, String, LedgerActor, String?) async throws -> Bool
    ) {
        self.list = list
        self.add = add
        self.remove = remove
    }
}

/// Lets one run at a time through; the others are told it is busy.
actor OneAtATime {
    private var running = false

    /// `false` when one is running.
    func begin() -> Bool {
        guard !running else { return false }
        running = true
        return true
    }

    func end() { running = false }
}
