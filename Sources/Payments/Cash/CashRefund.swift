import Acquiring
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
    /// A refund of a konbini or Pay-easy payment, as Stripe does it: there is no card to send
    /// the money back to, so the refund waits (`requires_action`) while the buyer is asked for
    /// bank details (a message in `outbox_messages`, for a mail sender to drain), until an
    /// operator records the payout (``recordPayout(_:)``).
    public func refund(_ new: CardPayments.NewRefund, merchant: MerchantID) async throws -> Refund {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(new.paymentIntent, merchant: merchant, on: db)
            guard intent.status == .succeeded, let chargeID = intent.latestCharge else {
                throw PaymentsError.unexpectedState(
                    "charge_not_refundable",
                    "This PaymentIntent (\(intent.id)) does not have a successful payment to refund; it has a status of \(intent.status.rawValue).",
                    param: "payment_intent")
            }
            let amount = try CardPayments.refundAmount(new.amount, of: intent, charge: chargeID)
            guard
                let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, intent.id.rawValue).first()
            else { throw PaymentsError.notFound("payment_intent", id: intent.id.rawValue, param: "payment_intent") }
            let record = try Self.record(row)
            if record.method == "emoney" {
                // The provider returns e-money to the buyer's wallet at once.
                let refund = Refund(
                    id: RefundID.random(), merchant: merchant, paymentIntent: intent.id, charge: chargeID, amount: amount, currency: intent.currency,
                    status: .succeeded, reason: new.reason, metadata: new.metadata, failureReason: nil, created: now)
                try await db.insert(into: "refunds").model(try RefundRow(refund), nilEncodingStrategy: .asNil).run()
                try await db.update("charges").set("amount_refunded", to: SQLBinaryExpression(SQLColumn("amount_refunded"), .add, SQLBind(amount)))
                    .where("id", .equal, chargeID.rawValue).run()
                intent.amountRefunded += amount
                intent.updated = now
                try await CardPayments.save(intent, on: db)
                try await events.record(.refundCreated, refund: refund, livemode: intent.livemode, on: db)
                try await events.record(.chargeRefunded, intent: intent, on: db)
                return refund
            }
            let recipient = record.details.billing.email ?? intent.receiptEmail
            let messageID = "msg_" + Base62.random(count: 20)
            let expiresAt = now.unixSeconds + 45 * 86_400
            var refund = Refund(
                id: RefundID.random(), merchant: merchant, paymentIntent: intent.id, charge: chargeID, amount: amount, currency: intent.currency,
                status: .requiresAction, reason: new.reason, metadata: new.metadata, failureReason: nil, created: now)
            refund.nextAction = RefundNextAction(emailSentAt: now.unixSeconds, emailSentTo: recipient, expiresAt: expiresAt)
            try await db.insert(into: "refunds").model(try RefundRow(refund), nilEncodingStrategy: .asNil).run()
            if let recipient {
                let name = record.details.billing.name ?? "お客様"
                let body = """
                    \(name) 様

                    お支払い (\(intent.id.rawValue)) のうち ¥\(amount) を返金いたします。
                    コンビニ・Pay-easy でのお支払いはカードに戻せないため、返金先の銀行口座
                    (銀行名・支店名・口座種別・口座番号・口座名義) をお知らせください。
                    期限: \(Self.jstDate(expiresAt)) まで。返金番号: \(refund.id.rawValue)

                    We are refunding ¥\(amount) of your payment \(intent.id.rawValue). Cash payments cannot be
                    returned to a card: please send the bank account to pay the refund into
                    (bank, branch, account type, number, holder's name) by \(Self.jstDate(expiresAt)).
                    Refund reference: \(refund.id.rawValue)
                    """
                try await db.insert(into: "outbox_messages")
                    .columns("id", "merchant_id", "recipient", "subject", "body", "related_object", "created_at")
                    .values(
                        SQLBind(messageID), SQLBind(merchant.rawValue), SQLBind(recipient), SQLBind("返金口座のご案内 / Your refund: bank details needed"),
                        SQLBind(body), SQLBind(refund.id.rawValue), SQLBind(now.unixSeconds)
                    ).run()
            }
            intent.amountRefunded += amount
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await events.record(.refundCreated, refund: refund, livemode: intent.livemode, on: db)
            return refund
        }
    }

    /// The operator paid the refund out to the buyer's account: the refund succeeds.
    public func recordPayout(_ id: RefundID) async throws -> Refund {
        let now = clock.now()
        return try await database.transaction { db in
            guard
                var refund = try await db.select().column("*").from("refunds").where("id", .equal, id.rawValue).for(.update)
                    .first(decoding: RefundRow.self)?.domain()
            else { throw PaymentsError.notFound("refund", id: id.rawValue) }
            guard refund.status == .requiresAction else {
                throw PaymentsError.unexpectedState(
                    "refund_unexpected_state", "Refund \(id) is \(refund.status.rawValue); only a refund waiting for its payout can be paid out.")
            }
            refund.status = .succeeded
            refund.nextAction = nil
            try await db.update("refunds").set("status", to: refund.status.rawValue).set("next_action", to: SQLLiteral.null)
                .where("id", .equal, id.rawValue).run()
            try await db.update("charges").set("amount_refunded", to: SQLBinaryExpression(SQLColumn("amount_refunded"), .add, SQLBind(refund.amount)))
                .where("id", .equal, refund.charge.rawValue).run()
            let intent = try await CardPayments.locked(refund.paymentIntent, merchant: refund.merchant, on: db)
            try await events.record(.chargeRefunded, intent: intent, on: db)
            _ = now
            return refund
        }
    }
}
