public import Acquiring
public import KessaiCore
import Logging
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CashPayments {
    /// Test mode's "the buyer paid": the network records it and notifies; the notification is applied.
    public func simulatePayment(_ id: PaymentIntentID, merchant: MerchantID?) async throws -> PaymentIntent {
        guard let record = try await record(of: id), merchant == nil || record.merchant == merchant else {
            throw PaymentsError.notFound("payment_intent", id: id.rawValue, param: "intent")
        }
        guard let network = networks[record.method] as? any SimulatedCashNetwork else {
            throw PaymentsError.unexpectedState(
                "payment_intent_unexpected_state", "Only konbini and Pay-easy payments are paid this way; e-money is paid on the provider's page.")
        }
        guard record.state != "new" else {
            throw PaymentsError.unexpectedState("payment_intent_unexpected_state", "Confirm the PaymentIntent first: it has no payment numbers yet.")
        }
        let notification: CashNotification
        do {
            notification = try await network.buyerPays(reference: id.rawValue)
        } catch let refusal as NetworkRefusal {
            logger.info("network refused a payment", metadata: ["payment_intent": "\(id)", "code": "\(refusal.code)"])
            throw PaymentsError.unexpectedState(
                "payment_intent_payment_attempt_expired", "The \(record.method) network refused the payment: \(refusal.message)")
        }
        return try await apply(notification, intent: id)
    }

    /// Applies a network's notification once: a duplicate is recorded and ignored; a payment
    /// after the deadline, or for an intent no longer waiting, is recorded and refused.
    @discardableResult
    public func apply(_ notification: CashNotification, intent id: PaymentIntentID) async throws -> PaymentIntent {
        let now = clock.now()
        enum Result { case applied(PaymentIntent), duplicate(PaymentIntent), refused(String, String) }
        let result: Result = try await database.transaction { db in
            guard let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, id.rawValue).for(.update).first()
            else { throw PaymentsError.notFound("payment_intent", id: id.rawValue, param: "intent") }
            let record = try Self.record(row)
            var intent = try await CardPayments.locked(id, merchant: record.merchant, on: db)
            func note(_ outcome: String) async throws {
                try await db.insert(into: "cash_notifications").columns("id", "payment_intent_id", "outcome", "amount", "paid_at", "received_at")
                    .values(
                        SQLBind(notification.id), SQLBind(id.rawValue), SQLBind(outcome), SQLBind(notification.amount),
                        SQLBind(notification.paidAt.unixSeconds), SQLBind(now.unixSeconds)
                    ).run()
            }
            if record.state == "paid" {
                try await note("duplicate")
                return .duplicate(intent)
            }
            if let deadline = record.expiresAt, notification.paidAt.unixSeconds > deadline {
                try await note("late")
                return .refused("late", "The payment was made after the deadline.")
            }
            guard record.state == "awaiting", intent.status == .requiresAction else {
                try await note("not_awaiting")
                return .refused("not_awaiting", "The PaymentIntent is \(intent.status.rawValue); it no longer accepts a payment.")
            }
            guard notification.amount == intent.amount else {
                try await note("not_awaiting")
                return .refused("amount_mismatch", "The notified amount differs from the PaymentIntent's.")
            }
            let charge = Charge(
                id: ChargeID.random(), merchant: record.merchant, paymentIntent: id, amount: intent.amount, amountCaptured: intent.amount,
                amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: true,
                paymentMethod: PaymentMethodID(rawValue: record.paymentMethod),
                acquirer: record.method, acquirerReference: notification.id, cvcCheck: nil, authentication: nil, failureCode: nil, declineCode: nil,
                failureMessage: nil, created: now)
            try await db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).run()
            try intent.move(to: .succeeded)
            intent.amountReceived = intent.amount
            intent.latestCharge = charge.id
            intent.nextAction = nil
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await db.update("cash_payments").set("state", to: "paid").set("notification_id", to: notification.id)
                .set("paid_at", to: notification.paidAt.unixSeconds).set("updated_at", to: now.unixSeconds).where("payment_intent_id", .equal, id.rawValue)
                .run()
            try await note("applied")
            try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
            KessaiMetrics.payment(method: record.method, outcome: "succeeded")
            return .applied(intent)
        }
        switch result {
        case .applied(let intent):
            logger.info("cash payment received", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)"])
            return intent
        case .duplicate(let intent):
            logger.warning("duplicate payment notification ignored", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)"])
            return intent
        case .refused(let code, let message):
            logger.warning("payment notification refused", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)", "reason": "\(code)"])
            throw PaymentsError.unexpectedState("payment_intent_payment_attempt_expired", message)
        }
    }
}
