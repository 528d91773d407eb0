import Acquiring
import KessaiCore
import Logging
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension CardPayments {
    /// Settles attempts left pending longer than `age` (a process died, or the acquirer did not
    /// answer), from what the acquirer recorded; and returns intents left `processing` without
    /// an attempt (a process died before calling) to `requires_confirmation`.
    /// - Returns: how many attempts and intents were settled.
    @discardableResult
    public func reconcile(olderThan age: TimeInterval) async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-age).unixSeconds
        let stale = try await database.withConnection { db in
            try await db.select().columns("id", "merchant_id", "payment_intent_id", "operation", "amount", "refund_id").from("acquirer_attempts")
                .where("state", .equal, "pending").where("created_at", .lessThanOrEqual, cutoff).orderBy("created_at").limit(500).all()
        }
        var settled = 0
        for row in stale {
            let attempt = AttemptID(rawValue: try row.decode(column: "id", as: String.self))
            let merchant = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
            let intent = PaymentIntentID(rawValue: try row.decode(column: "payment_intent_id", as: String.self))
            let amount = try row.decode(column: "amount", as: Int64.self)
            let recorded = try await acquirerCall("lookup", attempt: attempt) { try await acquirer.lookup(attempt: attempt) }
            switch try row.decode(column: "operation", as: String.self) {
            case "authorize":
                let outcome: AuthorizationOutcome? = recorded.map {
                    $0.approved
                        ? .approved(reference: $0.reference ?? "", captured: $0.kind == .sale, cvc: .unavailable)
                        : .declined($0.decline ?? Decline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined."))
                }
                try await settleAuthorization(attempt, outcome: outcome, intent: intent, merchant: merchant)
            case "capture":
                try await settleCapture(attempt, succeeded: recorded?.approved ?? false, amount: amount, intent: intent, merchant: merchant)
            case "void":
                try await settleVoid(attempt, succeeded: recorded?.approved ?? false, intent: intent, merchant: merchant)
            case "refund":
                if let refund = try row.decode(column: "refund_id", as: String?.self) {
                    let outcome: OperationOutcome? = recorded.map {
                        $0.approved
                            ? .succeeded(reference: $0.reference ?? "")
                            : .failed($0.decline ?? Decline(code: "refund_failed", declineCode: "", message: "refused"))
                    }
                    try await settleRefund(attempt, outcome: outcome, refund: RefundID(rawValue: refund), merchant: merchant)
                }
            default:
                continue
            }
            logger.info("reconciled an acquirer attempt", metadata: ["attempt": "\(attempt)", "payment_intent": "\(intent)", "found": "\(recorded != nil)"])
            settled += 1
        }
        // Intents claimed for confirmation whose process died before an attempt was recorded.
        let now = clock.now()
        let orphans = try await database.withConnection { db in
            try await db.select().columns("id", "merchant_id").from("payment_intents").where("status", .equal, "processing")
                .where("updated_at", .lessThanOrEqual, cutoff).limit(500).all()
        }
        for row in orphans {
            let id = PaymentIntentID(rawValue: try row.decode(column: "id", as: String.self))
            let merchant = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
            let released = try await database.transaction { db -> Bool in
                var intent = try await Self.locked(id, merchant: merchant, on: db)
                guard intent.status == .processing else { return false }
                if let attempt = intent.attemptID,
                    try await db.select().column("id").from("acquirer_attempts").where("id", .equal, attempt.rawValue).where("state", .equal, "pending").first()
                        != nil
                {
                    return false
                }
                try intent.move(to: intent.latestCharge != nil && intent.amountCapturable > 0 ? .requiresCapture : .requiresConfirmation)
                intent.attemptID = nil
                intent.updated = now
                try await Self.save(intent, on: db)
                return true
            }
            if released { settled += 1 }
        }
        return settled
    }

    /// When the intent is `processing` on an attempt older than ``reconcileAfter``, settles it
    /// first (a replay after a crash lands here).
    func settleStaleAttempt(of id: PaymentIntentID, merchant: MerchantID) async throws -> Bool {
        guard let intent = try await retrieve(id, merchant: merchant), intent.status == .processing,
            intent.updated.timeIntervalSince1970 <= clock.now().timeIntervalSince1970 - reconcileAfter
        else { return false }
        return try await reconcile(olderThan: reconcileAfter) > 0
    }

    /// Gives up a claim made for confirmation when the card could not be read.
    func release(_ intent: PaymentIntent, abandoning attempt: AttemptID? = nil, to status: PaymentIntent.Status) async throws {
        try await database.transaction { db in
            var current = try await Self.locked(intent.id, merchant: intent.merchant, on: db)
            if let attempt {
                // Never sent to the acquirer: nothing can have been charged.
                guard current.attemptID == attempt, try await Self.claimAttempt(attempt, succeeded: false, now: clock.now(), on: db) else { return }
                current.attemptID = nil
            }
            guard current.status == .processing, current.attemptID == nil else { return }
            try current.move(to: status)
            current.updated = clock.now()
            try await Self.save(current, on: db)
        }
    }
}
