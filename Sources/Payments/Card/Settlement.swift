import Acquiring
import KessaiCore
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
    /// Applies an authorization's outcome to the intent that made the attempt, as it was
    /// claimed: in one guarded write (``CardStatements/AuthorizationSettle``) while the stored
    /// intent still matches it, which is the rule; the slow way under the intent's lock when
    /// something changed it meanwhile or the outcome is unknown.
    func settleAuthorization(_ attempt: AttemptID, outcome: AuthorizationOutcome?, claimed: PaymentIntent) async throws -> PaymentIntent {
        if let outcome, let method = claimed.paymentMethod, claimed.attemptID == attempt {
            let now = clock.now()
            var settled = claimed
            let (charge, event) = try Self.apply(outcome, to: &settled, method: method, acquirer: acquirer.name, now: now)
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
                try intent.move(to: .requiresConfirmation)
                intent.lastPaymentError = PaymentError(
                    type: "api_error", code: "processing_error", declineCode: nil,
                    message: "The payment could not be completed because the acquirer did not answer. Nothing was charged; confirm again.",
                    paymentMethod: method.rawValue)
                try await Self.save(intent, on: db)
                return intent
            }
            let (charge, event) = try Self.apply(outcome, to: &intent, method: method, acquirer: acquirerName, now: now)
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
    ) throws -> (Charge, PaymentEventType) {
        intent.attemptID = nil
        intent.updated = now
        switch outcome {
        case .approved(let reference, let captured, let cvc):
            let charge = Charge(
                id: ChargeID.random(), merchant: intent.merchant, paymentIntent: intent.id, amount: intent.amount,
                amountCaptured: captured ? intent.amount : 0, amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: captured,
                paymentMethod: method, acquirer: acquirer, acquirerReference: reference, cvcCheck: cvc.rawValue,
                authentication: intent.authentication?.rawValue, failureCode: nil, declineCode: nil, failureMessage: nil, created: now, watch: intent.watch)
            intent.latestCharge = charge.id
            if captured {
                try intent.move(to: .succeeded)
                intent.amountReceived = intent.amount
                intent.amountCapturable = 0
            } else {
                try intent.move(to: .requiresCapture)
                intent.amountCapturable = intent.amount
            }
            return (charge, captured ? .paymentIntentSucceeded : .paymentIntentAmountCapturableUpdated)
        case .declined(let decline):
            let charge = Charge(
                id: ChargeID.random(), merchant: intent.merchant, paymentIntent: intent.id, amount: intent.amount, amountCaptured: 0,
                amountRefunded: 0, currency: intent.currency, status: "failed", captured: false, paymentMethod: method, acquirer: acquirer,
                acquirerReference: nil, cvcCheck: decline.code == "incorrect_cvc" ? "fail" : nil, authentication: intent.authentication?.rawValue,
                failureCode: decline.code, declineCode: decline.declineCode, failureMessage: decline.message, created: now, watch: intent.watch)
            intent.latestCharge = charge.id
            try intent.move(to: .requiresPaymentMethod)
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
}
