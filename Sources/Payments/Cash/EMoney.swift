import Acquiring
import KessaiCore
import Logging
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CashPayments {
    /// The buyer came back from the provider: apply its answer once.
    public func completeEMoney(pageToken: String) async throws -> PaymentIntent? {
        guard let (record, _) = try await record(pageToken: pageToken), record.method == "emoney", let session = record.providerSession,
            let provider = providers[record.details.provider ?? "test"], let answer = try await provider.result(session: session)
        else { return nil }
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(record.intent, merchant: record.merchant, on: db)
            guard
                intent.status == .requiresAction,
                try await db.select().column("state").from("cash_payments").where("payment_intent_id", .equal, record.intent.rawValue).for(.update)
                    .first()?.decode(column: "state", as: String.self) == "awaiting"
            else { return intent }
            intent.nextAction = nil
            intent.updated = now
            if answer == .approved {
                let charge = Charge(
                    id: ChargeID.random(), merchant: record.merchant, paymentIntent: intent.id, amount: intent.amount, amountCaptured: intent.amount,
                    amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: true,
                    paymentMethod: PaymentMethodID(rawValue: record.paymentMethod), acquirer: "emoney:\(provider.name)", acquirerReference: session,
                    cvcCheck: nil, authentication: nil, failureCode: nil, declineCode: nil, failureMessage: nil, created: now)
                try await db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).run()
                try intent.move(to: .succeeded)
                intent.amountReceived = intent.amount
                intent.latestCharge = charge.id
                try await db.update("cash_payments").set("state", to: "paid").set("paid_at", to: now.unixSeconds).set("updated_at", to: now.unixSeconds)
                    .where("payment_intent_id", .equal, record.intent.rawValue).run()
                try await CardPayments.save(intent, on: db)
                try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
                KessaiMetrics.payment(method: "emoney", outcome: "succeeded")
            } else {
                try intent.move(to: .requiresPaymentMethod)
                intent.paymentMethod = nil
                intent.lastPaymentError = PaymentError(
                    type: "invalid_request_error", code: "payment_method_provider_decline",
                    declineCode: nil, message: "The buyer refused the payment at the e-money provider.", paymentMethod: record.paymentMethod)
                try await db.update("cash_payments").set("state", to: "new").set("page_token", to: SQLLiteral.null).set("updated_at", to: now.unixSeconds)
                    .where("payment_intent_id", .equal, record.intent.rawValue).run()
                try await CardPayments.save(intent, on: db)
                try await events.record(.paymentIntentPaymentFailed, intent: intent, on: db)
                KessaiMetrics.payment(method: "emoney", outcome: "declined")
            }
            return intent
        }
    }
}
