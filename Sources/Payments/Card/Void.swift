import Acquiring
public import KessaiCore
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
                try intent.move(to: .canceled)
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
                try intent.move(to: .processing)
                intent.attemptID = attempt
                intent.cancellationReason = reason
                intent.updated = now
                try await Self.save(intent, on: db)
                return .void(intent, reference: reference)
            default:
                throw PaymentsError.unexpectedState(
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
                outcome = try await acquirerCall("void", attempt: attempt) { try await acquirer.void(reference: reference, attempt: attempt) }
            } catch {
                logger.error("acquirer void failed", metadata: ["payment_intent": "\(id)", "attempt": "\(attempt)", "error": "\(error)"])
                return try await retrieve(id, merchant: merchant) ?? intent
            }
            if outcome.succeeded { KessaiMetrics.payment(method: "card", outcome: "canceled") }
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
                try intent.move(to: .canceled)
                intent.canceledAt = now
                intent.amountCapturable = 0
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentCanceled, intent: intent, on: db)
            } else {
                try intent.move(to: .requiresCapture)
                intent.cancellationReason = nil
                try await Self.save(intent, on: db)
            }
            return intent
        }
    }
}
