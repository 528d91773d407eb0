import Acquiring
import KessaiCore
import Ledger
import Logging
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CardPayments {
    /// Authorizes a claimed (`processing`) intent with the acquirer (after a challenge).
    func authorize(
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
    func send(
        _ attempt: AttemptID, for intent: PaymentIntent, card: CardDetails, authentication: AuthenticationResult, context: AccessContext,
        throwOnDecline: Bool = true
    ) async throws -> PaymentIntent {
        guard let method = intent.paymentMethod else { throw PaymentsError.missing("payment_method") }
        // The code is destroyed by this first authorization, whatever its outcome.
        let code = try? await vault.consumeSecurityCode(token: method, merchant: intent.merchant, context: context)
        let request = AuthorizationRequest(
            attempt: attempt, merchant: intent.merchant, amount: Money(minorUnits: intent.amount, currency: intent.currency),
            card: CardDetails(pan: card.pan, expMonth: card.expMonth, expYear: card.expYear, securityCode: code ?? nil), authentication: authentication,
            capture: intent.capturesImmediately)
        let outcome: AuthorizationOutcome
        do {
            outcome = try await acquirerCall("authorize", attempt: attempt) { try await acquirer.authorize(request) }
        } catch {
            // The outcome is unknown: the attempt stays pending and the reconciler settles it.
            logger.error("acquirer authorization failed", metadata: ["payment_intent": "\(intent.id)", "attempt": "\(attempt)", "error": "\(error)"])
            KessaiMetrics.payment(method: "card", outcome: "pending")
            return try await retrieve(intent.id, merchant: intent.merchant) ?? intent
        }
        let settled = try await settleAuthorization(attempt, outcome: outcome, claimed: intent)
        KessaiMetrics.payment(method: "card", outcome: settled.status.rawValue)
        if case .declined(let decline) = outcome { await recordDecline(decline, intent: intent, context: context) }
        if throwOnDecline, settled.status == .requiresPaymentMethod, let error = settled.lastPaymentError {
            throw PaymentDeclined(intent: settled, error: error)
        }
        return settled
    }

    /// A decline is a ledger entry (`card.declined`: the merchant, the intent, the decline code,
    /// the source address) so the sentinel can see card testing — many declines from one address,
    /// or at one merchant from many. Every decline already cost a card read, so this adds one
    /// entry per read at most. The payment's answer stands whatever happens to the entry.
    func recordDecline(_ decline: Decline, intent: PaymentIntent, context: AccessContext) async {
        let entry = LedgerEntry(
            time: clock.now(), actor: context.actor, action: "card.declined",
            objects: ["merchant": intent.merchant.rawValue, "payment_intent": intent.id.rawValue, "code": decline.code, "decline_code": decline.declineCode],
            requestID: context.requestID, source: context.source, outcome: "declined")
        do {
            try await vault.ledger.record(entry)
        } catch {
            logger.error("recording a decline failed", metadata: ["payment_intent": "\(intent.id)", "error": "\(String(describing: error).prefix(300))"])
        }
    }
}
