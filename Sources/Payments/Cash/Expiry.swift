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
    /// Moves one awaiting intent to `canceled` (`cancellation_reason=expired`) once; false when
    /// it was not awaiting (paid, canceled, or another process got there first).
    @discardableResult
    public func expire(_ id: PaymentIntentID, force: Bool = false) async throws -> Bool {
        let now = clock.now()
        let expired: (Bool, String?) = try await database.transaction { db in
            guard
                let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, id.rawValue)
                    .where("state", .equal, "awaiting").for(.update).first()
            else { return (false, nil) }
            let record = try Self.record(row)
            if !force, let deadline = record.expiresAt, deadline >= now.unixSeconds, record.testBehavior != "expire" { return (false, nil) }
            var intent = try await CardPayments.locked(id, merchant: record.merchant, on: db)
            try await db.update("cash_payments").set("state", to: "expired").set("updated_at", to: now.unixSeconds)
                .where("payment_intent_id", .equal, id.rawValue).where("state", .equal, "awaiting").run()
            guard intent.status == .requiresAction else { return (false, nil) }
            try intent.move(to: .canceled)
            intent.cancellationReason = .expired
            intent.canceledAt = now
            intent.nextAction = nil
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await events.record(.paymentIntentCanceled, intent: intent, on: db)
            return (true, record.method)
        }
        if expired.0, let method = expired.1 {
            try? await networks[method]?.withdraw(reference: id.rawValue)
            KessaiMetrics.payment(method: method, outcome: "expired")
            logger.info("cash payment expired", metadata: ["payment_intent": "\(id)"])
        }
        return expired.0
    }

    /// The scheduled job: expires what is past its deadline and, in test mode, plays the Stripe
    /// test addresses (`succeed_immediately`, `expire_immediately`). Rows are claimed with
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several processes share the work and each
    /// intent is handled once (the guarded transitions make it once even without the claim).
    public func runDue(limit: Int = 100) async throws -> Int {
        let now = clock.now().unixSeconds
        let due: [(PaymentIntentID, String?)] = try await database.transaction { db in
            let rows: [any SQLRow]
            if database.kind == .postgres {
                rows = try await db.raw(
                    """
                    SELECT payment_intent_id, test_behavior FROM cash_payments
                    WHERE state = 'awaiting' AND (expires_at < \(bind: now) OR test_behavior IN ('succeed', 'expire'))
                    ORDER BY expires_at LIMIT \(bind: limit) FOR UPDATE SKIP LOCKED
                    """
                ).all()
            } else {
                rows = try await db.select().columns("payment_intent_id", "test_behavior").from("cash_payments").where("state", .equal, "awaiting")
                    .where(group: { $0.where("expires_at", .lessThan, now).orWhere("test_behavior", .in, ["succeed", "expire"]) })
                    .orderBy("expires_at").limit(limit).all()
            }
            return try rows.map {
                (PaymentIntentID(rawValue: try $0.decode(column: "payment_intent_id")), try $0.decode(column: "test_behavior", as: String?.self))
            }
        }
        var handled = 0
        for (id, behavior) in due {
            do {
                if behavior == "succeed" {
                    _ = try await simulatePayment(id, merchant: nil)
                    handled += 1
                } else if try await expire(id) {
                    handled += 1
                }
            } catch {
                logger.error("cash payment job failed", metadata: ["payment_intent": "\(id)", "error": "\(error)"])
            }
        }
        return handled
    }
}
