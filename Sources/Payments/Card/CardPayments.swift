public import Acquiring
public import KessaiCore
public import Logging
import SQLKit
public import Storage
public import Vault

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A card payment the issuer refused; the intent is back at `requires_payment_method` with
/// `last_payment_error`. The HTTP layer answers 402 with the intent attached.
public struct PaymentDeclined: Error, Sendable, CustomStringConvertible {
    public let intent: PaymentIntent
    public let error: PaymentError

    /// Names the intent and the code only: the intent itself holds its client secret.
    public var description: String { "PaymentDeclined(\(intent.id), \(error.code), \(error.declineCode ?? "-"))" }
}

/// Card payments: PaymentIntents and refunds through an ``AcquirerConnector``.
///
/// Every call to the acquirer is an *attempt* recorded (`pending`) and committed before the
/// call, and settled in a transaction after the answer, only if it is still pending. A process
/// that dies between the two leaves the attempt pending; ``reconcile(olderThan:)`` asks the
/// acquirer what happened (it keeps its books by attempt) and settles it, so nothing is charged
/// twice and no approved payment is lost.
public struct CardPayments: Sendable {
    let database: KessaiDatabase
    let vault: Vault
    let acquirer: any AcquirerConnector
    let clock: any KessaiClock
    let logger: Logger
    /// Events are recorded through this, in the transaction that makes the change.
    let events: any PaymentEventSink
    /// How long an attempt may stay pending before a request or the reconciler settles it.
    public let reconcileAfter: TimeInterval

    public init(
        database: KessaiDatabase, vault: Vault, acquirer: any AcquirerConnector, clock: any KessaiClock, logger: Logger,
        events: any PaymentEventSink = NoEvents(), reconcileAfter: TimeInterval = 30
    ) {
        self.database = database
        self.vault = vault
        self.acquirer = acquirer
        self.clock = clock
        self.logger = logger
        self.events = events
        self.reconcileAfter = reconcileAfter
    }

    // MARK: Creating and reading

    /// What a merchant asks for when creating an intent (already validated by the API layer).
    public struct NewIntent: Sendable {
        public var amount: Int64
        public var currency: Currency
        public var captureMethod: PaymentIntent.CaptureMethod = .automatic
        public var paymentMethod: PaymentMethodID?
        public var paymentMethodTypes: [String] = ["card"]
        public var description: String?
        public var metadata: [String: String] = [:]
        public var receiptEmail: String?
        public var returnURL: String?
        public var statementDescriptorSuffix: String?

        public init(amount: Int64, currency: Currency) {
            self.amount = amount
            self.currency = currency
        }
    }

    public func create(_ new: NewIntent, merchant: MerchantID, livemode: Bool) async throws -> PaymentIntent {
        let intent = Self.newIntent(new, merchant: merchant, livemode: livemode, now: clock.now())
        try await database.transaction { db in
            if let method = new.paymentMethod { _ = try await Self.cardExpiry(method, merchant: merchant, on: db) }
            try await db.insert(into: "payment_intents").model(PaymentIntentRow(intent), nilEncodingStrategy: .asNil).run()
            try await events.record(.paymentIntentCreated, intent: intent, on: db)
        }
        return intent
    }

    /// Creates and confirms in one go (`confirm=true`): the intent is inserted already claimed,
    /// in the transaction that reads the card and records the acquirer attempt, so a payment
    /// costs one transaction before the acquirer's answer and one after. A request that fails
    /// before the acquirer is called leaves no intent behind.
    /// - Throws: as ``confirm(_:merchant:_:context:)``.
    public func createAndConfirm(
        _ new: NewIntent, merchant: MerchantID, livemode: Bool, _ confirmation: Confirmation, context: AccessContext
    ) async throws -> PaymentIntent {
        let intent = Self.newIntent(new, merchant: merchant, livemode: livemode, now: clock.now())
        return try await confirm(.new(intent), merchant: merchant, confirmation, context: context)
    }

    static func newIntent(_ new: NewIntent, merchant: MerchantID, livemode: Bool, now: Date) -> PaymentIntent {
        let id = PaymentIntentID.random()
        return PaymentIntent(
            id: id, merchant: merchant, livemode: livemode, amount: new.amount, currency: new.currency,
            status: new.paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation, captureMethod: new.captureMethod,
            paymentMethod: new.paymentMethod, paymentMethodTypes: new.paymentMethodTypes, description: new.description, metadata: new.metadata,
            receiptEmail: new.receiptEmail, clientSecret: id.rawValue + "_secret_" + Base62.random(count: 24), amountCapturable: 0, amountReceived: 0,
            amountRefunded: 0, latestCharge: nil, lastPaymentError: nil, cancellationReason: nil, canceledAt: nil, returnURL: new.returnURL,
            challengeID: nil, authentication: nil, attemptID: nil, confirmedByKey: nil, created: now, updated: now,
            statementDescriptorSuffix: new.statementDescriptorSuffix)
    }

    public func retrieve(_ id: PaymentIntentID, merchant: MerchantID) async throws -> PaymentIntent? {
        try await database.withConnection { db in
            try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue).where("merchant_id", .equal, merchant.rawValue)
                .first(decoding: PaymentIntentRow.self)?.domain()
        }
    }

    /// An intent whatever its merchant, for pages that check the intent's client secret themselves.
    public func retrieve(_ id: PaymentIntentID) async throws -> PaymentIntent? {
        try await database.withConnection { db in
            try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue).first(decoding: PaymentIntentRow.self)?.domain()
        }
    }

    public func charge(_ id: ChargeID, merchant: MerchantID) async throws -> Charge? {
        try await database.withConnection { db in
            try await db.select().column("*").from("charges").where("id", .equal, id.rawValue).where("merchant_id", .equal, merchant.rawValue)
                .first(decoding: ChargeRow.self)?.domain()
        }
    }

    /// A page of a merchant's intents, newest first, as Stripe's list endpoints page.
    public func list(
        merchant: MerchantID, limit: Int, startingAfter: PaymentIntentID?, endingBefore: PaymentIntentID?, created: CreatedRange = CreatedRange()
    ) async throws -> (
        [PaymentIntent], hasMore: Bool
    ) {
        try await Self.page(
            table: "payment_intents", object: "payment_intent", merchant: merchant, limit: limit, startingAfter: startingAfter?.rawValue,
            endingBefore: endingBefore?.rawValue, created: created, database: database, decoding: PaymentIntentRow.self
        ) { try $0.domain() }
    }
}
