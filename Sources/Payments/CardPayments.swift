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
            challengeID: nil, authentication: nil, attemptID: nil, confirmedByKey: nil, created: now, updated: now)
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
        merchant: MerchantID, limit: Int, startingAfter: PaymentIntentID?, endingBefore: PaymentIntentID?
    ) async throws -> (
        [PaymentIntent], hasMore: Bool
    ) {
        try await Self.page(
            table: "payment_intents", merchant: merchant, limit: limit, startingAfter: startingAfter?.rawValue, endingBefore: endingBefore?.rawValue,
            database: database, decoding: PaymentIntentRow.self
        ) { try $0.domain() }
    }

    // MARK: Changing before confirmation

    /// Fields an update may change; `nil` leaves a field as it is.
    public struct IntentUpdate: Sendable {
        public var amount: Int64?
        public var currency: Currency?
        public var captureMethod: PaymentIntent.CaptureMethod?
        public var paymentMethod: PaymentMethodID?
        public var paymentMethodTypes: [String]?
        public var description: String?
        public var metadata: [String: String?]?
        public var receiptEmail: String?

        public init() {}
    }

    public func update(_ id: PaymentIntentID, merchant: MerchantID, _ update: IntentUpdate) async throws -> PaymentIntent {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            let changesPayment = update.amount != nil || update.currency != nil || update.paymentMethod != nil || update.captureMethod != nil
            if changesPayment, ![.requiresPaymentMethod, .requiresConfirmation, .requiresAction].contains(intent.status) {
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot update the amount, currency, capture method or payment method of this PaymentIntent because it has a status of \(intent.status.rawValue)."
                )
            }
            if intent.status == .canceled {
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state", "You cannot update this PaymentIntent because it has a status of canceled.")
            }
            if let amount = update.amount { intent.amount = amount }
            if let currency = update.currency { intent.currency = currency }
            if intent.amount > intent.currency.maximumAmount {
                throw APIError.invalid(
                    "amount", "Amount must be no more than \(intent.currency.maximumAmount) \(intent.currency.code).", code: "amount_too_large")
            }
            if let captureMethod = update.captureMethod { intent.captureMethod = captureMethod }
            if let types = update.paymentMethodTypes { intent.paymentMethodTypes = types }
            if let description = update.description { intent.description = description.isEmpty ? nil : description }
            if let email = update.receiptEmail { intent.receiptEmail = email.isEmpty ? nil : email }
            if let metadata = update.metadata {
                for (key, value) in metadata { intent.metadata[key] = value }
                guard intent.metadata.count <= 50 else { throw APIError.invalid("metadata", "At most 50 metadata keys are allowed.") }
            }
            if let method = update.paymentMethod {
                _ = try await Self.cardExpiry(method, merchant: merchant, on: db)
                intent.paymentMethod = method
            }
            if changesPayment, [.requiresPaymentMethod, .requiresAction].contains(intent.status), intent.paymentMethod != nil {
                // A changed payment abandons a waiting challenge; the buyer confirms again.
                intent.status = .requiresConfirmation
                intent.challengeID = nil
            }
            intent.updated = now
            try await Self.save(intent, on: db)
            return intent
        }
    }

    // MARK: Confirmation

    public struct Confirmation: Sendable {
        public var paymentMethod: PaymentMethodID?
        public var returnURL: String?
        /// The request's `Idempotency-Key`, so a replay after a crash answers with the intent.
        public var idempotencyKey: String?

        public init(paymentMethod: PaymentMethodID? = nil, returnURL: String? = nil, idempotencyKey: String? = nil) {
            self.paymentMethod = paymentMethod
            self.returnURL = returnURL
            self.idempotencyKey = idempotencyKey
        }
    }

    /// Confirms an intent: the card is decrypted (a ledger entry), the issuer says whether a
    /// 3-D Secure challenge is needed (then `requires_action`), and otherwise the acquirer
    /// authorizes, consuming the security code.
    /// - Throws: ``PaymentDeclined`` for a decline; `APIError` for a wrong state or input.
    public func confirm(_ id: PaymentIntentID, merchant: MerchantID, _ confirmation: Confirmation, context: AccessContext) async throws -> PaymentIntent {
        if try await settleStaleAttempt(of: id, merchant: merchant) {
            logger.info("settled a stale acquirer attempt before confirming", metadata: ["payment_intent": "\(id)"])
        }
        return try await confirm(.existing(id), merchant: merchant, confirmation, context: context)
    }

    /// The intent a confirmation claims: one already stored, or one being created with it.
    private enum Target: Sendable {
        case existing(PaymentIntentID)
        case new(PaymentIntent)
    }

    private func confirm(_ target: Target, merchant: MerchantID, _ confirmation: Confirmation, context: AccessContext) async throws -> PaymentIntent {
        let now = clock.now()
        enum Claim: Sendable {
            case replay(PaymentIntent)
            case claimed(PaymentIntent, expMonth: Int, expYear: Int)
        }
        let attempt = AttemptID.random()
        // One transaction claims the intent (`processing`), reads the card with its ledger
        // entry and records the acquirer attempt; the card is decrypted after it commits.
        let isNew: Bool
        if case .new = target { isNew = true } else { isNew = false }
        let (claim, opened) = try await vault.revealing(in: database, singleBatch: isNew) { db, cards -> (Claim, Vault.ReadCard?) in
            var intent: PaymentIntent
            switch target {
            case .new(let created):
                intent = created
            case .existing(let id):
                intent = try await Self.locked(id, merchant: merchant, on: db)
                if let key = confirmation.idempotencyKey, intent.confirmedByKey == key,
                    [.succeeded, .requiresCapture, .requiresAction, .requiresPaymentMethod].contains(intent.status)
                {
                    return (.replay(intent), nil)
                }
            }
            switch intent.status {
            case .requiresPaymentMethod, .requiresConfirmation: break
            case .processing:
                throw APIError(
                    kind: .invalidRequest, code: "payment_intent_processing",
                    message: "This PaymentIntent is being processed by another request; retry in a moment.", status: 409)
            default:
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot confirm this PaymentIntent because it has a status of \(intent.status.rawValue).")
            }
            if let method = confirmation.paymentMethod { intent.paymentMethod = method }
            guard let method = intent.paymentMethod else {
                throw APIError(
                    kind: .invalidRequest, code: "payment_intent_unexpected_state",
                    message:
                        "You cannot confirm this PaymentIntent because it's missing a payment method. Update it with a payment_method or pass one to confirm.",
                    param: "payment_method", status: 400)
            }
            guard
                let (row, card) = try await cards.read(
                    joined: CardStatements.ExpiryAndCard.self, token: method, merchant: merchant, purpose: .authorization, context: context)
            else { throw APIError.notFound("PaymentMethod", id: method.rawValue, param: "payment_method") }
            let (month, year) = (Int(try row.integer(0)), Int(try row.integer(1)))
            guard let read = card else { throw VaultError.notFound }
            let created = intent
            if let returnURL = confirmation.returnURL { intent.returnURL = returnURL }
            intent.status = .processing
            intent.lastPaymentError = nil
            intent.authentication = nil
            intent.confirmedByKey = confirmation.idempotencyKey
            intent.attemptID = attempt
            intent.updated = now
            if isNew {
                let event = events.batchValues(.paymentIntentCreated, intent: created)
                try await db.run(
                    batch: CardStatements.NewIntentClaim.self,
                    [
                        CardStatements.attempt(attempt, intent: intent, operation: "authorize", amount: intent.amount, refund: nil, now: now),
                        CardStatements.intent(try PaymentIntentRow(intent)), event.event, event.deliveries, try cards.entryValues(),
                    ])
            } else {
                let writes = [
                    Self.attemptInsert(attempt, intent: intent, operation: "authorize", amount: intent.amount, refund: nil, now: now, on: db),
                    try Self.saving(intent, on: db),
                ]
                try await db.runWrites(writes + cards.entryWrites())
            }
            return (.claimed(intent, expMonth: month, expYear: year), read)
        }
        var intent: PaymentIntent
        let (month, year): (Int, Int)
        switch claim {
        case .replay(let replayed): return replayed
        case .claimed(let claimed, let expMonth, let expYear): (intent, month, year) = (claimed, expMonth, expYear)
        }
        let card: CardDetails
        let decision: AuthenticationDecision
        do {
            guard let pan = try opened?.get() else { throw VaultError.notFound }
            card = CardDetails(pan: pan, expMonth: month, expYear: year, securityCode: nil)
            decision = try await acquirer.authentication(for: card, amount: Money(minorUnits: intent.amount, currency: intent.currency))
        } catch {
            try await release(intent, abandoning: attempt, to: .requiresConfirmation)
            throw error
        }
        if decision == .challenge {
            let id = intent.id
            intent = try await database.transaction { db in
                var intent = try await Self.locked(id, merchant: merchant, on: db)
                // The attempt was never sent: the challenge comes first. (If the reconciler
                // settled it meanwhile, the intent is already back where it can be confirmed.)
                guard try await Self.claimAttempt(attempt, succeeded: false, now: clock.now(), on: db) else { return intent }
                intent.status = .requiresAction
                intent.attemptID = nil
                intent.challengeID = "3ds_" + Base62.random(count: 32)
                intent.updated = clock.now()
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentRequiresAction, intent: intent, on: db)
                return intent
            }
            return intent
        }
        return try await send(attempt, for: intent, card: card, authentication: .frictionless, context: context)
    }

    /// The buyer's answer to a 3-D Secure challenge. Passing authorizes; failing returns the
    /// intent to `requires_payment_method` with `payment_intent_authentication_failure`.
    /// - Returns: the intent after the answer (a decline is not thrown here: the buyer's page
    ///   shows the outcome and returns to the merchant's `return_url`).
    public func completeChallenge(_ challenge: String, passed: Bool, context: AccessContext) async throws -> PaymentIntent {
        let now = clock.now()
        enum Answer: Sendable {
            case failed(PaymentIntent, PaymentMethodID)
            case passed(PaymentIntent, PaymentMethodID, expMonth: Int, expYear: Int)
        }
        let answer = try await database.transaction { db -> Answer in
            guard
                var intent = try await db.select().column("*").from("payment_intents").where("challenge_id", .equal, challenge).for(.update)
                    .first(decoding: PaymentIntentRow.self)?.domain()
            else { throw APIError.notFound("3-D Secure challenge", id: String(challenge.prefix(64))) }
            guard intent.status == .requiresAction, let method = intent.paymentMethod else {
                throw APIError.unexpectedState("payment_intent_unexpected_state", "This challenge is no longer waiting for an answer.")
            }
            intent.challengeID = nil
            intent.updated = now
            if !passed {
                intent.status = .requiresPaymentMethod
                intent.paymentMethod = nil
                intent.lastPaymentError = PaymentError(
                    type: "invalid_request_error", code: "payment_intent_authentication_failure", declineCode: nil,
                    message:
                        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
                    paymentMethod: method.rawValue)
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentPaymentFailed, intent: intent, on: db)
                return .failed(intent, method)
            }
            intent.status = .processing
            intent.authentication = .challenged
            try await Self.save(intent, on: db)
            let (month, year) = try await Self.cardExpiry(method, merchant: intent.merchant, on: db)
            return .passed(intent, method, expMonth: month, expYear: year)
        }
        switch answer {
        case .failed(let intent, let method):
            await vault.discardSecurityCode(token: method, merchant: intent.merchant)
            return intent
        case .passed(let intent, let method, let month, let year):
            let pan: PAN
            do {
                pan = try await vault.reveal(token: method, merchant: intent.merchant, purpose: .authorization, context: context, in: database)
            } catch {
                try await release(intent, to: .requiresConfirmation)
                throw error
            }
            return try await authorize(
                intent, card: CardDetails(pan: pan, expMonth: month, expYear: year, securityCode: nil), authentication: .challenged, context: context,
                throwOnDecline: false)
        }
    }

    /// The intent waiting on a challenge, for the challenge page.
    public func intent(forChallenge challenge: String) async throws -> PaymentIntent? {
        try await database.withConnection { db in
            try await db.select().column("*").from("payment_intents").where("challenge_id", .equal, challenge)
                .first(decoding: PaymentIntentRow.self)?.domain()
        }
    }

    /// Authorizes a claimed (`processing`) intent with the acquirer (after a challenge).
    private func authorize(
        _ intent: PaymentIntent, card: CardDetails, authentication: AuthenticationResult, context: AccessContext, throwOnDecline: Bool = true
    ) async throws -> PaymentIntent {
        let attempt = AttemptID.random()
        try await database.transaction { db in
            try await Self.insertAttempt(attempt, intent: intent, operation: "authorize", amount: intent.amount, refund: nil, now: clock.now(), on: db)
            try await db.update("payment_intents").set("attempt_id", to: attempt.rawValue).where("id", .equal, intent.id.rawValue).run()
        }
        return try await send(attempt, for: intent, card: card, authentication: authentication, context: context, throwOnDecline: throwOnDecline)
    }

    /// Sends a recorded (`pending`) authorization attempt to the acquirer and settles it.
    private func send(
        _ attempt: AttemptID, for intent: PaymentIntent, card: CardDetails, authentication: AuthenticationResult, context: AccessContext,
        throwOnDecline: Bool = true
    ) async throws -> PaymentIntent {
        guard let method = intent.paymentMethod else { throw APIError.missing("payment_method") }
        // The code is destroyed by this first authorization, whatever its outcome.
        let code = try? await vault.consumeSecurityCode(token: method, merchant: intent.merchant, context: context)
        let request = AuthorizationRequest(
            attempt: attempt, merchant: intent.merchant, amount: Money(minorUnits: intent.amount, currency: intent.currency),
            card: CardDetails(pan: card.pan, expMonth: card.expMonth, expYear: card.expYear, securityCode: code ?? nil), authentication: authentication,
            capture: intent.capturesImmediately)
        let outcome: AuthorizationOutcome
        do {
            outcome = try await acquirer.authorize(request)
        } catch {
            // The outcome is unknown: the attempt stays pending and the reconciler settles it.
            logger.error("acquirer authorization failed", metadata: ["payment_intent": "\(intent.id)", "attempt": "\(attempt)", "error": "\(error)"])
            return try await retrieve(intent.id, merchant: intent.merchant) ?? intent
        }
        let settled = try await settleAuthorization(attempt, outcome: outcome, claimed: intent)
        if throwOnDecline, settled.status == .requiresPaymentMethod, let error = settled.lastPaymentError {
            throw PaymentDeclined(intent: settled, error: error)
        }
        return settled
    }

    /// Applies an authorization's outcome to the intent that made the attempt, as it was
    /// claimed: in one guarded write (``CardStatements/AuthorizationSettle``) while the stored
    /// intent still matches it, which is the rule; the slow way under the intent's lock when
    /// something changed it meanwhile or the outcome is unknown.
    func settleAuthorization(_ attempt: AttemptID, outcome: AuthorizationOutcome?, claimed: PaymentIntent) async throws -> PaymentIntent {
        if let outcome, let method = claimed.paymentMethod, claimed.attemptID == attempt {
            let now = clock.now()
            var settled = claimed
            let (charge, event) = Self.apply(outcome, to: &settled, method: method, acquirer: acquirer.name, now: now)
            let eventValues = events.batchValues(event, intent: settled)
            let settledRow = try PaymentIntentRow(settled)
            let claimedRow = try PaymentIntentRow(claimed)
            let written = try await database.batch { db in
                try await db.run(
                    batch: CardStatements.AuthorizationSettle.self,
                    [
                        CardStatements.settle(settledRow, claimed: claimedRow, attempt: attempt),
                        [.text(Self.isApproved(outcome) ? "succeeded" : "failed"), .integer(now.unixSeconds), .text(attempt.rawValue)],
                        CardStatements.charge(ChargeRow(charge)), eventValues.event, eventValues.deliveries,
                    ])
            }
            if written { return settled }
        }
        return try await settleAuthorization(attempt, outcome: outcome, intent: claimed.id, merchant: claimed.merchant)
    }

    /// Applies an authorization's outcome, once: only while its attempt is still pending.
    @discardableResult
    func settleAuthorization(
        _ attempt: AttemptID, outcome: AuthorizationOutcome?, intent id: PaymentIntentID, merchant: MerchantID
    ) async throws
        -> PaymentIntent
    {
        let now = clock.now()
        let acquirerName = acquirer.name
        return try await database.transaction { db in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            guard try await Self.claimAttempt(attempt, succeeded: Self.isApproved(outcome), now: now, on: db), let method = intent.paymentMethod else {
                return intent
            }
            guard let outcome else {
                // The acquirer never saw the attempt: nothing was charged; the merchant confirms again.
                intent.attemptID = nil
                intent.updated = now
                intent.status = .requiresConfirmation
                intent.lastPaymentError = PaymentError(
                    type: "api_error", code: "processing_error", declineCode: nil,
                    message: "The payment could not be completed because the acquirer did not answer. Nothing was charged; confirm again.",
                    paymentMethod: method.rawValue)
                try await Self.save(intent, on: db)
                return intent
            }
            let (charge, event) = Self.apply(outcome, to: &intent, method: method, acquirer: acquirerName, now: now)
            try await db.runWrites(
                [try db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).query, try Self.saving(intent, on: db)]
                    + events.writes(event, intent: intent, on: db))
            return intent
        }
    }

    /// What an authorization's outcome makes of the intent that waited on it: its new state,
    /// the charge to record and the event to emit.
    static func apply(
        _ outcome: AuthorizationOutcome, to intent: inout PaymentIntent, method: PaymentMethodID, acquirer: String, now: Date
    ) -> (Charge, PaymentEventType) {
        intent.attemptID = nil
        intent.updated = now
        switch outcome {
        case .approved(let reference, let captured, let cvc):
            let charge = Charge(
                id: ChargeID.random(), merchant: intent.merchant, paymentIntent: intent.id, amount: intent.amount,
                amountCaptured: captured ? intent.amount : 0, amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: captured,
                paymentMethod: method, acquirer: acquirer, acquirerReference: reference, cvcCheck: cvc.rawValue,
                authentication: intent.authentication?.rawValue, failureCode: nil, declineCode: nil, failureMessage: nil, created: now)
            intent.latestCharge = charge.id
            if captured {
                intent.status = .succeeded
                intent.amountReceived = intent.amount
                intent.amountCapturable = 0
            } else {
                intent.status = .requiresCapture
                intent.amountCapturable = intent.amount
            }
            return (charge, captured ? .paymentIntentSucceeded : .paymentIntentAmountCapturableUpdated)
        case .declined(let decline):
            let charge = Charge(
                id: ChargeID.random(), merchant: intent.merchant, paymentIntent: intent.id, amount: intent.amount, amountCaptured: 0,
                amountRefunded: 0, currency: intent.currency, status: "failed", captured: false, paymentMethod: method, acquirer: acquirer,
                acquirerReference: nil, cvcCheck: decline.code == "incorrect_cvc" ? "fail" : nil, authentication: intent.authentication?.rawValue,
                failureCode: decline.code, declineCode: decline.declineCode, failureMessage: decline.message, created: now)
            intent.latestCharge = charge.id
            intent.status = .requiresPaymentMethod
            intent.paymentMethod = nil
            intent.lastPaymentError = PaymentError(
                type: "card_error", code: decline.code, declineCode: decline.declineCode, message: decline.message, paymentMethod: method.rawValue)
            return (charge, .paymentIntentPaymentFailed)
        }
    }

    static func isApproved(_ outcome: AuthorizationOutcome?) -> Bool {
        if case .approved = outcome { return true }
        return false
    }

    // MARK: Capture and cancel

    /// Captures an authorized intent, up to its `amount_capturable`; the rest is released.
    public func capture(_ id: PaymentIntentID, merchant: MerchantID, amount: Int64?) async throws -> PaymentIntent {
        _ = try await settleStaleAttempt(of: id, merchant: merchant)
        let now = clock.now()
        let attempt = AttemptID.random()
        let (intent, reference, captureAmount) = try await database.transaction { db -> (PaymentIntent, String, Int64) in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            guard intent.status == .requiresCapture else {
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "This PaymentIntent could not be captured because it has a status of \(intent.status.rawValue). Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
                )
            }
            let captureAmount = amount ?? intent.amountCapturable
            guard captureAmount >= 1 else { throw APIError.invalid("amount_to_capture", "amount_to_capture must be a positive integer.") }
            guard captureAmount <= intent.amountCapturable else {
                throw APIError.invalid(
                    "amount_to_capture", "The amount_to_capture (\(captureAmount)) is greater than the amount capturable (\(intent.amountCapturable)).",
                    code: "amount_too_large")
            }
            guard let chargeID = intent.latestCharge, let charge = try await Self.charge(chargeID, on: db), let reference = charge.acquirerReference else {
                throw RowJSON.Corrupt(table: "payment_intents", id: id.rawValue)
            }
            try await Self.insertAttempt(attempt, intent: intent, operation: "capture", amount: captureAmount, refund: nil, now: now, on: db)
            intent.status = .processing
            intent.attemptID = attempt
            intent.updated = now
            try await Self.save(intent, on: db)
            return (intent, reference, captureAmount)
        }
        let outcome: OperationOutcome
        do {
            outcome = try await acquirer.capture(reference: reference, amount: Money(minorUnits: captureAmount, currency: intent.currency), attempt: attempt)
        } catch {
            logger.error("acquirer capture failed", metadata: ["payment_intent": "\(id)", "attempt": "\(attempt)", "error": "\(error)"])
            return try await retrieve(id, merchant: merchant) ?? intent
        }
        let settled = try await settleCapture(attempt, succeeded: outcome.succeeded, amount: captureAmount, intent: id, merchant: merchant)
        if case .failed(let decline) = outcome {
            throw APIError(kind: .card, code: decline.code, message: "The capture was refused: \(decline.message)", status: 402)
        }
        return settled
    }

    @discardableResult
    func settleCapture(_ attempt: AttemptID, succeeded: Bool, amount: Int64, intent id: PaymentIntentID, merchant: MerchantID) async throws -> PaymentIntent {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            guard try await Self.claimAttempt(attempt, succeeded: succeeded, now: now, on: db) else { return intent }
            intent.attemptID = nil
            intent.updated = now
            if succeeded, let chargeID = intent.latestCharge {
                try await db.update("charges").set("amount_captured", to: amount).set("captured", to: 1).where("id", .equal, chargeID.rawValue).run()
                intent.status = .succeeded
                intent.amountReceived = amount
                intent.amountCapturable = 0
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
            } else {
                intent.status = .requiresCapture
                try await Self.save(intent, on: db)
            }
            return intent
        }
    }

    /// Cancels an intent; an authorized one is voided at the acquirer first.
    public func cancel(_ id: PaymentIntentID, merchant: MerchantID, reason: PaymentIntent.CancellationReason?) async throws -> PaymentIntent {
        _ = try await settleStaleAttempt(of: id, merchant: merchant)
        let now = clock.now()
        let attempt = AttemptID.random()
        enum Step: Sendable {
            case done(PaymentIntent, discard: PaymentMethodID?)
            case void(PaymentIntent, reference: String)
        }
        let step = try await database.transaction { db -> Step in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            switch intent.status {
            case .requiresPaymentMethod, .requiresConfirmation, .requiresAction:
                let method = intent.paymentMethod
                intent.status = .canceled
                intent.cancellationReason = reason
                intent.canceledAt = now
                intent.challengeID = nil
                intent.updated = now
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentCanceled, intent: intent, on: db)
                return .done(intent, discard: method)
            case .requiresCapture:
                guard let chargeID = intent.latestCharge, let charge = try await Self.charge(chargeID, on: db), let reference = charge.acquirerReference else {
                    throw RowJSON.Corrupt(table: "payment_intents", id: id.rawValue)
                }
                try await Self.insertAttempt(attempt, intent: intent, operation: "void", amount: 0, refund: nil, now: now, on: db)
                intent.status = .processing
                intent.attemptID = attempt
                intent.cancellationReason = reason
                intent.updated = now
                try await Self.save(intent, on: db)
                return .void(intent, reference: reference)
            default:
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot cancel this PaymentIntent because it has a status of \(intent.status.rawValue). Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action."
                )
            }
        }
        switch step {
        case .done(let intent, let method):
            // A code held for a payment that will not happen is destroyed now.
            if let method { await vault.discardSecurityCode(token: method, merchant: merchant) }
            return intent
        case .void(let intent, let reference):
            let outcome: OperationOutcome
            do {
                outcome = try await acquirer.void(reference: reference, attempt: attempt)
            } catch {
                logger.error("acquirer void failed", metadata: ["payment_intent": "\(id)", "attempt": "\(attempt)", "error": "\(error)"])
                return try await retrieve(id, merchant: merchant) ?? intent
            }
            return try await settleVoid(attempt, succeeded: outcome.succeeded, intent: id, merchant: merchant)
        }
    }

    @discardableResult
    func settleVoid(_ attempt: AttemptID, succeeded: Bool, intent id: PaymentIntentID, merchant: MerchantID) async throws -> PaymentIntent {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            guard try await Self.claimAttempt(attempt, succeeded: succeeded, now: now, on: db) else { return intent }
            intent.attemptID = nil
            intent.updated = now
            if succeeded {
                intent.status = .canceled
                intent.canceledAt = now
                intent.amountCapturable = 0
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentCanceled, intent: intent, on: db)
            } else {
                intent.status = .requiresCapture
                intent.cancellationReason = nil
                try await Self.save(intent, on: db)
            }
            return intent
        }
    }

    // MARK: Refunds

    public struct NewRefund: Sendable {
        public var paymentIntent: PaymentIntentID
        public var amount: Int64?
        public var reason: Refund.Reason?
        public var metadata: [String: String] = [:]

        public init(paymentIntent: PaymentIntentID) { self.paymentIntent = paymentIntent }
    }

    /// Refunds part or all of what was captured; several partial refunds may follow one another
    /// up to the captured amount.
    public func refund(_ new: NewRefund, merchant: MerchantID) async throws -> Refund {
        let now = clock.now()
        let attempt = AttemptID.random()
        let (refund, reference) = try await database.transaction { db -> (Refund, String) in
            var intent: PaymentIntent
            do {
                intent = try await Self.locked(new.paymentIntent, merchant: merchant, on: db)
            } catch let error as APIError where error.status == 404 {
                throw APIError.notFound("payment_intent", id: new.paymentIntent.rawValue, param: "payment_intent")
            }
            guard intent.status == .succeeded, let chargeID = intent.latestCharge, let charge = try await Self.charge(chargeID, on: db),
                let reference = charge.acquirerReference
            else {
                throw APIError.unexpectedState(
                    "charge_not_refundable",
                    "This PaymentIntent (\(intent.id)) does not have a successful charge to refund; it has a status of \(intent.status.rawValue).",
                    param: "payment_intent")
            }
            let amount = try Self.refundAmount(new.amount, of: intent, charge: chargeID)
            let refund = Refund(
                id: RefundID.random(), merchant: merchant, paymentIntent: intent.id, charge: chargeID, amount: amount, currency: intent.currency,
                status: .pending, reason: new.reason, metadata: new.metadata, failureReason: nil, created: now)
            try await db.insert(into: "refunds").model(try RefundRow(refund), nilEncodingStrategy: .asNil).run()
            try await Self.insertAttempt(attempt, intent: intent, operation: "refund", amount: amount, refund: refund.id, now: now, on: db)
            intent.amountRefunded += amount
            intent.updated = now
            try await Self.save(intent, on: db)
            try await events.record(.refundCreated, refund: refund, livemode: intent.livemode, on: db)
            return (refund, reference)
        }
        let outcome: OperationOutcome
        do {
            outcome = try await acquirer.refund(reference: reference, amount: Money(minorUnits: refund.amount, currency: refund.currency), attempt: attempt)
        } catch {
            logger.error("acquirer refund failed", metadata: ["refund": "\(refund.id)", "attempt": "\(attempt)", "error": "\(error)"])
            return refund
        }
        return try await settleRefund(attempt, outcome: outcome, refund: refund.id, merchant: merchant)
    }

    @discardableResult
    func settleRefund(_ attempt: AttemptID, outcome: OperationOutcome?, refund id: RefundID, merchant: MerchantID) async throws -> Refund {
        let now = clock.now()
        return try await database.transaction { db in
            guard var refund = try await Self.refund(id, merchant: merchant, on: db) else { throw RowJSON.Corrupt(table: "refunds", id: id.rawValue) }
            guard try await Self.claimAttempt(attempt, succeeded: outcome?.succeeded ?? false, now: now, on: db) else { return refund }
            var intent = try await Self.locked(refund.paymentIntent, merchant: merchant, on: db)
            if outcome?.succeeded == true {
                refund.status = .succeeded
                try await db.update("charges")
                    .set("amount_refunded", to: SQLBinaryExpression(SQLColumn("amount_refunded"), .add, SQLBind(refund.amount)))
                    .where("id", .equal, refund.charge.rawValue).run()
            } else {
                refund.status = .failed
                if case .failed(let decline)? = outcome { refund.failureReason = decline.message } else { refund.failureReason = "unknown" }
                intent.amountRefunded -= refund.amount
                intent.updated = now
                try await Self.save(intent, on: db)
            }
            try await db.update("refunds").set("status", to: refund.status.rawValue).set("failure_reason", to: refund.failureReason).where(
                "id", .equal, id.rawValue
            ).run()
            if refund.status == .succeeded { try await events.record(.chargeRefunded, intent: intent, on: db) }
            return refund
        }
    }

    public func retrieveRefund(_ id: RefundID, merchant: MerchantID) async throws -> Refund? {
        try await database.withConnection { db in try await Self.refund(id, merchant: merchant, on: db) }
    }

    public func listRefunds(
        merchant: MerchantID, paymentIntent: PaymentIntentID?, limit: Int, startingAfter: RefundID?, endingBefore: RefundID?
    ) async throws
        -> ([Refund], hasMore: Bool)
    {
        try await Self.page(
            table: "refunds", merchant: merchant, limit: limit, startingAfter: startingAfter?.rawValue, endingBefore: endingBefore?.rawValue,
            filter: paymentIntent.map { ("payment_intent_id", $0.rawValue) }, database: database, decoding: RefundRow.self
        ) { try $0.domain() }
    }

    // MARK: Reconciliation

    /// Settles attempts left pending longer than `age` (a process died, or the acquirer did not
    /// answer), from what the acquirer recorded; and returns intents left `processing` without
    /// an attempt (a process died before calling) to `requires_confirmation`.
    /// - Returns: how many attempts and intents were settled.
    @discardableResult
    public func reconcile(olderThan age: TimeInterval) async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-age).unixSeconds
        let stale = try await database.withConnection { db in
            try await db.select().columns("id", "merchant_id", "payment_intent_id", "operation", "amount", "refund_id").from("acquirer_attempts")
                .where("state", .equal, "pending").where("created_at", .lessThanOrEqual, cutoff).orderBy("created_at").limit(500).all()
        }
        var settled = 0
        for row in stale {
            let attempt = AttemptID(rawValue: try row.decode(column: "id", as: String.self))
            let merchant = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
            let intent = PaymentIntentID(rawValue: try row.decode(column: "payment_intent_id", as: String.self))
            let amount = try row.decode(column: "amount", as: Int64.self)
            let recorded = try await acquirer.lookup(attempt: attempt)
            switch try row.decode(column: "operation", as: String.self) {
            case "authorize":
                let outcome: AuthorizationOutcome? = recorded.map {
                    $0.approved
                        ? .approved(reference: $0.reference ?? "", captured: $0.kind == .sale, cvc: .unavailable)
                        : .declined($0.decline ?? Decline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined."))
                }
                try await settleAuthorization(attempt, outcome: outcome, intent: intent, merchant: merchant)
            case "capture":
                try await settleCapture(attempt, succeeded: recorded?.approved ?? false, amount: amount, intent: intent, merchant: merchant)
            case "void":
                try await settleVoid(attempt, succeeded: recorded?.approved ?? false, intent: intent, merchant: merchant)
            case "refund":
                if let refund = try row.decode(column: "refund_id", as: String?.self) {
                    let outcome: OperationOutcome? = recorded.map {
                        $0.approved
                            ? .succeeded(reference: $0.reference ?? "")
                            : .failed($0.decline ?? Decline(code: "refund_failed", declineCode: "", message: "refused"))
                    }
                    try await settleRefund(attempt, outcome: outcome, refund: RefundID(rawValue: refund), merchant: merchant)
                }
            default:
                continue
            }
            logger.info("reconciled an acquirer attempt", metadata: ["attempt": "\(attempt)", "payment_intent": "\(intent)", "found": "\(recorded != nil)"])
            settled += 1
        }
        // Intents claimed for confirmation whose process died before an attempt was recorded.
        let now = clock.now()
        let orphans = try await database.withConnection { db in
            try await db.select().columns("id", "merchant_id").from("payment_intents").where("status", .equal, "processing")
                .where("updated_at", .lessThanOrEqual, cutoff).limit(500).all()
        }
        for row in orphans {
            let id = PaymentIntentID(rawValue: try row.decode(column: "id", as: String.self))
            let merchant = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
            let released = try await database.transaction { db -> Bool in
                var intent = try await Self.locked(id, merchant: merchant, on: db)
                guard intent.status == .processing else { return false }
                if let attempt = intent.attemptID,
                    try await db.select().column("id").from("acquirer_attempts").where("id", .equal, attempt.rawValue).where("state", .equal, "pending").first()
                        != nil
                {
                    return false
                }
                intent.status = intent.latestCharge != nil && intent.amountCapturable > 0 ? .requiresCapture : .requiresConfirmation
                intent.attemptID = nil
                intent.updated = now
                try await Self.save(intent, on: db)
                return true
            }
            if released { settled += 1 }
        }
        return settled
    }

    /// When the intent is `processing` on an attempt older than ``reconcileAfter``, settles it
    /// first (a replay after a crash lands here).
    private func settleStaleAttempt(of id: PaymentIntentID, merchant: MerchantID) async throws -> Bool {
        guard let intent = try await retrieve(id, merchant: merchant), intent.status == .processing,
            intent.updated.timeIntervalSince1970 <= clock.now().timeIntervalSince1970 - reconcileAfter
        else { return false }
        return try await reconcile(olderThan: reconcileAfter) > 0
    }

    /// Gives up a claim made for confirmation when the card could not be read.
    private func release(_ intent: PaymentIntent, abandoning attempt: AttemptID? = nil, to status: PaymentIntent.Status) async throws {
        try await database.transaction { db in
            var current = try await Self.locked(intent.id, merchant: intent.merchant, on: db)
            if let attempt {
                // Never sent to the acquirer: nothing can have been charged.
                guard current.attemptID == attempt, try await Self.claimAttempt(attempt, succeeded: false, now: clock.now(), on: db) else { return }
                current.attemptID = nil
            }
            guard current.status == .processing, current.attemptID == nil else { return }
            current.status = status
            current.updated = clock.now()
            try await Self.save(current, on: db)
        }
    }

    /// What a refund may take: the amount asked for (all that is left when nil), at least 1 and
    /// no more than was received and not yet refunded.
    static func refundAmount(_ requested: Int64?, of intent: PaymentIntent, charge: ChargeID) throws -> Int64 {
        let available = intent.amountReceived - intent.amountRefunded
        guard available > 0 else {
            throw APIError.unexpectedState("charge_already_refunded", "Charge \(charge) has already been refunded.", param: "payment_intent")
        }
        let amount = requested ?? available
        guard amount >= 1 else { throw APIError.invalid("amount", "Refund amount must be a positive integer.") }
        guard amount <= available else {
            throw APIError.invalid(
                "amount",
                "Refund amount (\(amount) \(intent.currency.code)) is greater than unrefunded amount on charge (\(available) \(intent.currency.code)).",
                code: "amount_too_large")
        }
        return amount
    }

    // MARK: Rows

    static func locked(_ id: PaymentIntentID, merchant: MerchantID, on db: any SQLDatabase) async throws -> PaymentIntent {
        guard
            let row = try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue)
                .where("merchant_id", .equal, merchant.rawValue).for(.update).first(decoding: PaymentIntentRow.self)
        else { throw APIError.notFound("payment_intent", id: id.rawValue, param: "intent") }
        return try row.domain()
    }

    static func save(_ intent: PaymentIntent, on db: any SQLDatabase) async throws {
        try await db.runWrites([try saving(intent, on: db)])
    }

    /// The update ``save(_:on:)`` runs, for a batch of writes.
    static func saving(_ intent: PaymentIntent, on db: any SQLDatabase) throws -> any SQLExpression {
        try db.update("payment_intents").set(model: PaymentIntentRow(intent), nilEncodingStrategy: .asNil).where("id", .equal, intent.id.rawValue).query
    }

    static func charge(_ id: ChargeID, on db: any SQLDatabase) async throws -> Charge? {
        try await db.select().column("*").from("charges").where("id", .equal, id.rawValue).first(decoding: ChargeRow.self)?.domain()
    }

    static func refund(_ id: RefundID, merchant: MerchantID, on db: any SQLDatabase) async throws -> Refund? {
        try await db.select().column("*").from("refunds").where("id", .equal, id.rawValue).where("merchant_id", .equal, merchant.rawValue)
            .first(decoding: RefundRow.self)?.domain()
    }

    /// The expiry of a merchant's card payment method; `resource_missing` on `payment_method`
    /// when it is not the merchant's.
    static func cardExpiry(_ method: PaymentMethodID, merchant: MerchantID, on db: any SQLDatabase) async throws -> (Int, Int) {
        guard let row = try await db.rows(CardStatements.Expiry.self, [.text(method.rawValue), .text(merchant.rawValue)]).first else {
            throw APIError.notFound("PaymentMethod", id: method.rawValue, param: "payment_method")
        }
        return (Int(try row.integer(0)), Int(try row.integer(1)))
    }

    static func insertAttempt(
        _ attempt: AttemptID, intent: PaymentIntent, operation: String, amount: Int64, refund: RefundID?, now: Date, on db: any SQLDatabase
    ) async throws {
        try await db.runWrites([attemptInsert(attempt, intent: intent, operation: operation, amount: amount, refund: refund, now: now, on: db)])
    }

    /// The insert ``insertAttempt(_:intent:operation:amount:refund:now:on:)`` runs, for a batch.
    static func attemptInsert(
        _ attempt: AttemptID, intent: PaymentIntent, operation: String, amount: Int64, refund: RefundID?, now: Date, on db: any SQLDatabase
    ) -> any SQLExpression {
        ConstantExpression(
            CardStatements.AttemptInsert.self,
            CardStatements.attempt(attempt, intent: intent, operation: operation, amount: amount, refund: refund, now: now))
    }

    /// Moves a pending attempt to its final state; `false` when it was settled already. One
    /// conditional update: the row lock it takes serializes two settlers of the same attempt.
    static func claimAttempt(_ attempt: AttemptID, succeeded: Bool, now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("acquirer_attempts").set("state", to: succeeded ? "succeeded" : "failed").set("completed_at", to: now.unixSeconds)
            .where("id", .equal, attempt.rawValue).where("state", .equal, "pending").returning("id").all().count == 1
    }

    /// Stripe's list paging over `(created_at, id)`, newest first.
    static func page<Row: Decodable & Sendable, Item: Sendable>(
        table: String, merchant: MerchantID, limit: Int, startingAfter: String?, endingBefore: String?, filter: (String, String)? = nil,
        database: KessaiDatabase, decoding: Row.Type, map: @Sendable @escaping (Row) throws -> Item
    ) async throws -> ([Item], hasMore: Bool) {
        try await database.withConnection { db in
            func cursor(_ id: String, param: String) async throws -> Int64 {
                guard
                    let row = try await db.select().column("created_at").from(table).where("id", .equal, id).where("merchant_id", .equal, merchant.rawValue)
                        .first()
                else { throw APIError.notFound(table == "refunds" ? "refund" : "payment_intent", id: id, param: param) }
                return try row.decode(column: "created_at", as: Int64.self)
            }
            var query = db.select().column("*").from(table).where("merchant_id", .equal, merchant.rawValue)
            if let (column, value) = filter { query = query.where(column, .equal, value) }
            if let after = startingAfter {
                let created = try await cursor(after, param: "starting_after")
                query = query.where { group in
                    group.where("created_at", .lessThan, created).orWhere { inner in
                        inner.where("created_at", .equal, created).where("id", .lessThan, after)
                    }
                }
                query = query.orderBy("created_at", .descending).orderBy("id", .descending)
            } else if let before = endingBefore {
                let created = try await cursor(before, param: "ending_before")
                query = query.where { group in
                    group.where("created_at", .greaterThan, created).orWhere { inner in
                        inner.where("created_at", .equal, created).where("id", .greaterThan, before)
                    }
                }
                query = query.orderBy("created_at", .ascending).orderBy("id", .ascending)
            } else {
                query = query.orderBy("created_at", .descending).orderBy("id", .descending)
            }
            var rows = try await query.limit(limit + 1).all(decoding: Row.self)
            let hasMore = rows.count > limit
            rows = Array(rows.prefix(limit))
            if endingBefore != nil && startingAfter == nil { rows.reverse() }
            return (try rows.map(map), hasMore)
        }
    }
}

extension OperationOutcome {
    var succeeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}
