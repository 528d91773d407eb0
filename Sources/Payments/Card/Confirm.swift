import Acquiring
public import KessaiCore
import Logging
import SQLKit
import Storage
public import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CardPayments {
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
    /// - Throws: ``PaymentDeclined`` for a decline; ``PaymentsError`` for a wrong state or input.
    public func confirm(_ id: PaymentIntentID, merchant: MerchantID, _ confirmation: Confirmation, context: AccessContext) async throws -> PaymentIntent {
        if try await settleStaleAttempt(of: id, merchant: merchant) {
            logger.info("settled a stale acquirer attempt before confirming", metadata: ["payment_intent": "\(id)"])
        }
        return try await confirm(.existing(id), merchant: merchant, confirmation, context: context)
    }

    /// The intent a confirmation claims: one already stored, or one being created with it.
    enum Target: Sendable {
        case existing(PaymentIntentID)
        case new(PaymentIntent)
    }

    func confirm(_ target: Target, merchant: MerchantID, _ confirmation: Confirmation, context: AccessContext) async throws -> PaymentIntent {
        let now = clock.now()
        enum Claim: Sendable {
            case replay(PaymentIntent)
            case claimed(PaymentIntent, expMonth: Int, expYear: Int)
            /// The card is watched and the merchant refuses watched cards: blocked, unread.
            case blocked(PaymentIntent)
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
                throw PaymentsError.busy("This PaymentIntent is being processed by another request; retry in a moment.")
            default:
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot confirm this PaymentIntent because it has a status of \(intent.status.rawValue).")
            }
            if let method = confirmation.paymentMethod { intent.paymentMethod = method }
            guard let method = intent.paymentMethod else {
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot confirm this PaymentIntent because it's missing a payment method. Update it with a payment_method or pass one to confirm.",
                    param: "payment_method")
            }
            intent.watch = try await Self.watch(method, merchant: merchant, livemode: intent.livemode, on: db)
            if intent.watch?.action == .refused {
                return (.blocked(try await block(intent, method: method, confirmation: confirmation, isNew: isNew, now: now, on: db)), nil)
            }
            let (month, year, read) = try await Self.readForAuthorization(
                method, merchant: merchant, cards: cards, context: context.serving(intent.id.rawValue))
            let created = intent
            if let returnURL = confirmation.returnURL { intent.returnURL = returnURL }
            try intent.move(to: .processing)
            intent.lastPaymentError = nil
            intent.authentication = nil
            intent.confirmedByKey = confirmation.idempotencyKey
            intent.attemptID = attempt
            intent.updated = now
            if isNew, intent.watch != nil {
                // A watched card (rare): the claim's writes with the watch's event, in one statement.
                try await db.runWrites(
                    [
                        Self.attemptInsert(attempt, intent: intent, operation: "authorize", amount: intent.amount, refund: nil, now: now, on: db),
                        try db.insert(into: "payment_intents").model(PaymentIntentRow(intent), nilEncodingStrategy: .asNil).query,
                    ] + events.writes(.paymentIntentCreated, intent: created, on: db) + events.writes(.paymentIntentCardWatchMatched, intent: intent, on: db)
                        + cards.entryWrites())
            } else if isNew {
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
                let watched = intent.watch == nil ? [] : events.writes(.paymentIntentCardWatchMatched, intent: intent, on: db)
                try await db.runWrites(writes + watched + cards.entryWrites())
            }
            return (.claimed(intent, expMonth: month, expYear: year), read)
        }
        var intent: PaymentIntent
        let (month, year): (Int, Int)
        switch claim {
        case .replay(let replayed): return replayed
        case .blocked(let blocked):
            // The exposed card's code is not kept for a retry that will be blocked too.
            if let method = blocked.lastPaymentError?.paymentMethod {
                await vault.discardSecurityCode(token: PaymentMethodID(rawValue: method), merchant: merchant)
            }
            KessaiMetrics.payment(method: "card", outcome: blocked.status.rawValue)
            guard let error = blocked.lastPaymentError else { return blocked }
            throw PaymentDeclined(intent: blocked, error: error)
        case .claimed(let claimed, let expMonth, let expYear): (intent, month, year) = (claimed, expMonth, expYear)
        }
        let card: CardDetails
        let decision: AuthenticationDecision
        do {
            guard let pan = try opened?.get() else { throw VaultError.notFound }
            card = CardDetails(pan: pan, expMonth: month, expYear: year, securityCode: nil)
            decision = try await acquirerCall("authentication", attempt: attempt) {
                try await acquirer.authentication(for: card, amount: Money(minorUnits: intent.amount, currency: intent.currency))
            }
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
                try intent.move(to: .requiresAction)
                intent.attemptID = nil
                intent.challengeID = "3ds_" + Base62.random(count: 32)
                intent.updated = clock.now()
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentRequiresAction, intent: intent, on: db)
                return intent
            }
            KessaiMetrics.payment(method: "card", outcome: intent.status.rawValue)
            return intent
        }
        return try await send(attempt, for: intent, card: card, authentication: .frictionless, context: context)
    }
}
