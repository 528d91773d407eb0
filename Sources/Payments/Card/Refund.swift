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
            } catch PaymentsError.notFound {
                throw PaymentsError.notFound("payment_intent", id: new.paymentIntent.rawValue, param: "payment_intent")
            }
            guard intent.status == .succeeded, let chargeID = intent.latestCharge, let charge = try await Self.charge(chargeID, on: db),
                let reference = charge.acquirerReference
            else {
                throw PaymentsError.unexpectedState(
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
            outcome = try await acquirerCall("refund", attempt: attempt) {
                try await acquirer.refund(reference: reference, amount: Money(minorUnits: refund.amount, currency: refund.currency), attempt: attempt)
            }
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
        merchant: MerchantID, paymentIntent: PaymentIntentID?, limit: Int, startingAfter: RefundID?, endingBefore: RefundID?,
        created: CreatedRange = CreatedRange()
    ) async throws
        -> ([Refund], hasMore: Bool)
    {
        try await Self.page(
            table: "refunds", object: "refund", merchant: merchant, limit: limit, startingAfter: startingAfter?.rawValue,
            endingBefore: endingBefore?.rawValue, filter: paymentIntent.map { ("payment_intent_id", $0.rawValue) }, created: created,
            database: database, decoding: RefundRow.self
        ) { try $0.domain() }
    }

    /// What a refund may take: the amount asked for (all that is left when nil), at least 1 and
    /// no more than was received and not yet refunded.
    static func refundAmount(_ requested: Int64?, of intent: PaymentIntent, charge: ChargeID) throws -> Int64 {
        let available = intent.amountReceived - intent.amountRefunded
        guard available > 0 else {
            throw PaymentsError.unexpectedState("charge_already_refunded", "Charge \(charge) has already been refunded.", param: "payment_intent")
        }
        let amount = requested ?? available
        guard amount >= 1 else { throw PaymentsError.invalid("amount", "Refund amount must be a positive integer.") }
        guard amount <= available else {
            throw PaymentsError.invalid(
                "amount",
                "Refund amount (\(amount) \(intent.currency.code)) is greater than unrefunded amount on charge (\(available) \(intent.currency.code)).",
                code: "amount_too_large")
        }
        return amount
    }
}
