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
    /// Captures an authorized intent, up to its `amount_capturable`; the rest is released.
    public func capture(_ id: PaymentIntentID, merchant: MerchantID, amount: Int64?) async throws -> PaymentIntent {
        _ = try await settleStaleAttempt(of: id, merchant: merchant)
        let now = clock.now()
        let attempt = AttemptID.random()
        let (intent, reference, captureAmount) = try await database.transaction { db -> (PaymentIntent, String, Int64) in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            guard intent.status == .requiresCapture else {
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "This PaymentIntent could not be captured because it has a status of \(intent.status.rawValue). Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
                )
            }
            let captureAmount = amount ?? intent.amountCapturable
            guard captureAmount >= 1 else { throw PaymentsError.invalid("amount_to_capture", "amount_to_capture must be a positive integer.") }
            guard captureAmount <= intent.amountCapturable else {
                throw PaymentsError.invalid(
                    "amount_to_capture", "The amount_to_capture (\(captureAmount)) is greater than the amount capturable (\(intent.amountCapturable)).",
                    code: "amount_too_large")
            }
            guard let chargeID = intent.latestCharge, let charge = try await Self.charge(chargeID, on: db), let reference = charge.acquirerReference else {
                throw RowJSON.Corrupt(table: "payment_intents", id: id.rawValue)
            }
            try await Self.insertAttempt(attempt, intent: intent, operation: "capture", amount: captureAmount, refund: nil, now: now, on: db)
            try intent.move(to: .processing)
            intent.attemptID = attempt
            intent.updated = now
            try await Self.save(intent, on: db)
            return (intent, reference, captureAmount)
        }
        let outcome: OperationOutcome
        do {
            outcome = try await acquirerCall("capture", attempt: attempt) {
                try await acquirer.capture(reference: reference, amount: Money(minorUnits: captureAmount, currency: intent.currency), attempt: attempt)
            }
        } catch {
            logger.error("acquirer capture failed", metadata: ["payment_intent": "\(id)", "attempt": "\(attempt)", "error": "\(error)"])
            return try await retrieve(id, merchant: merchant) ?? intent
        }
        let settled = try await settleCapture(attempt, succeeded: outcome.succeeded, amount: captureAmount, intent: id, merchant: merchant)
        if outcome.succeeded { KessaiMetrics.payment(method: "card", outcome: "succeeded") }
        if case .failed(let decline) = outcome {
            throw PaymentsError.captureRefused(code: decline.code, message: decline.message)
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
                try intent.move(to: .succeeded)
                intent.amountReceived = amount
                intent.amountCapturable = 0
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
            } else {
                try intent.move(to: .requiresCapture)
                try await Self.save(intent, on: db)
            }
            return intent
        }
    }
}
