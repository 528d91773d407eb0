import Acquiring
import KessaiCore
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
    /// The buyer's answer to a 3-D Secure challenge. Passing authorizes; failing returns the
    /// intent to `requires_payment_method` with `payment_intent_authentication_failure`.
    /// - Returns: the intent after the answer (a decline is not thrown here: the buyer's page
    ///   shows the outcome and returns to the merchant's `return_url`).
    public func completeChallenge(_ challenge: String, passed: Bool, context: AccessContext) async throws -> PaymentIntent {
        let now = clock.now()
        enum Answer: Sendable {
            case failed(PaymentIntent, PaymentMethodID)
            case passed(PaymentIntent, expMonth: Int, expYear: Int)
        }
        // As in confirm: the claim and the card's read (with its ledger entry) commit together,
        // and the card is decrypted after the commit.
        let (answer, opened) = try await vault.revealing(in: database) { db, cards -> (Answer, Vault.ReadCard?) in
            guard
                var intent = try await db.select().column("*").from("payment_intents").where("challenge_id", .equal, challenge).for(.update)
                    .first(decoding: PaymentIntentRow.self)?.domain()
            else { throw PaymentsError.notFound("3-D Secure challenge", id: String(challenge.prefix(64))) }
            guard intent.status == .requiresAction, let method = intent.paymentMethod else {
                throw PaymentsError.unexpectedState("payment_intent_unexpected_state", "This challenge is no longer waiting for an answer.")
            }
            intent.challengeID = nil
            intent.updated = now
            if !passed {
                try intent.move(to: .requiresPaymentMethod)
                intent.paymentMethod = nil
                intent.lastPaymentError = PaymentError(
                    type: "invalid_request_error", code: "payment_intent_authentication_failure", declineCode: nil,
                    message:
                        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
                    paymentMethod: method.rawValue)
                try await Self.save(intent, on: db)
                try await events.record(.paymentIntentPaymentFailed, intent: intent, on: db)
                return (.failed(intent, method), nil)
            }
            let (month, year, card) = try await Self.readForAuthorization(
                method, merchant: intent.merchant, cards: cards, context: context.serving(intent.id.rawValue))
            try intent.move(to: .processing)
            intent.authentication = .challenged
            try await Self.save(intent, on: db)
            return (.passed(intent, expMonth: month, expYear: year), card)
        }
        switch answer {
        case .failed(let intent, let method):
            await vault.discardSecurityCode(token: method, merchant: intent.merchant)
            return intent
        case .passed(let intent, let month, let year):
            let pan: PAN
            do {
                guard let opened = try opened?.get() else { throw VaultError.notFound }
                pan = opened
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
}
