import KessaiCore
import Ledger
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The constant statements of a card payment's path (see ``Storage/ConstantStatement``): a
/// payment created with `confirm=true` costs the key lookup, one read (``ExpiryAndCard``) and one write batch
/// before the acquirer's answer, and one write batch after it.
enum CardStatements {
    /// The expiry of a merchant's card payment method.
    enum Expiry: ConstantStatement {
        static let text = "SELECT exp_month, exp_year FROM payment_methods WHERE id = $1 AND merchant_id = $2"
        static let parameters: [SQLValue.Kind] = [.text, .text]
    }

    /// A card payment method's expiry with its card from the vault, in one round trip.
    enum ExpiryAndCard: Vault.JoinedCardRead {
        static let text =
            "SELECT payment_methods.exp_month, payment_methods.exp_year, \(sealedColumns) FROM payment_methods \(sealedJoin) "
            + "WHERE payment_methods.id = $1 AND payment_methods.merchant_id = $2"
        static let parameters: [SQLValue.Kind] = [.text, .text]
    }

    /// A pending acquirer attempt, recorded before the acquirer is called.
    enum AttemptInsert: ConstantStatement {
        static let text = """
            INSERT INTO acquirer_attempts (id, merchant_id, payment_intent_id, operation, amount, state, refund_id, created_at) \
            VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)
            """
        static let parameters: [SQLValue.Kind] = [.text, .text, .text, .text, .integer, .text, .integer]
    }

    /// A new intent, every column.
    enum IntentInsert: ConstantStatement {
        static let text = """
            INSERT INTO payment_intents (id, merchant_id, livemode, amount, currency, status, capture_method, payment_method, \
            payment_method_types, description, metadata, receipt_email, client_secret, amount_capturable, amount_received, \
            amount_refunded, latest_charge, last_payment_error, cancellation_reason, canceled_at, return_url, challenge_id, \
            authentication, attempt_id, confirmed_by_key, created_at, updated_at, next_action, statement_descriptor_suffix, watch) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
            $25, $26, $27, $28, $29, $30)
            """
        static let parameters: [SQLValue.Kind] = [
            .text, .text, .integer, .integer, .text, .text, .text, .text, .text, .text, .text, .text, .text, .integer, .integer, .integer,
            .text, .text, .text, .integer, .text, .text, .text, .text, .text, .integer, .integer, .text, .text, .text,
        ]
    }

    /// A charge, every column.
    enum ChargeInsert: ConstantStatement {
        static let text = """
            INSERT INTO charges (id, merchant_id, payment_intent_id, amount, amount_captured, amount_refunded, currency, status, \
            captured, payment_method, acquirer, acquirer_reference, cvc_check, authentication, failure_code, decline_code, \
            failure_message, created_at, watch) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            """
        static let parameters: [SQLValue.Kind] = [
            .text, .text, .text, .integer, .integer, .integer, .text, .text, .integer, .text, .text, .text, .text, .text, .text, .text, .text,
            .integer, .text,
        ]
    }

    /// Settles a pending attempt (in a guarded batch: only when the guard passed).
    enum AttemptClaim: ConstantStatement {
        static let text = "UPDATE acquirer_attempts SET state = $1, completed_at = $2 WHERE id = $3 AND state = 'pending'"
        static let parameters: [SQLValue.Kind] = [.text, .integer, .text]
    }

    /// Writes an authorization's outcome into the intent, only while the intent still waits on
    /// this attempt and still shows what the caller read: the columns an update may change
    /// while an intent is `processing` (description, metadata, receipt email, payment method
    /// types) are compared, so the event recorded with it is the intent as stored. When it
    /// returns no row, the caller settles the slow way, under the intent's lock.
    enum IntentSettle: ConstantStatement {
        static let text = """
            UPDATE payment_intents SET status = $1, amount_capturable = $2, amount_received = $3, latest_charge = $4, \
            payment_method = $5, last_payment_error = $6, attempt_id = NULL, updated_at = $7 \
            WHERE id = $8 AND merchant_id = $9 AND attempt_id = $10 AND status = 'processing' \
            AND description IS NOT DISTINCT FROM $11 AND metadata = $12 AND receipt_email IS NOT DISTINCT FROM $13 \
            AND payment_method_types = $14 \
            AND EXISTS (SELECT 1 FROM acquirer_attempts WHERE id = $10 AND state = 'pending') RETURNING id
            """
        static let parameters: [SQLValue.Kind] = [
            .text, .integer, .integer, .text, .text, .text, .integer, .text, .text, .text, .text, .text, .text, .text,
        ]
    }

    /// Claims a new intent for confirmation: the attempt, the intent (already `processing`),
    /// its `payment_intent.created` event and the card read's ledger entry, in one write.
    enum NewIntentClaim: ConstantWriteBatch {
        static let parts: [any ConstantStatement.Type] = [
            AttemptInsert.self, IntentInsert.self, EventInsert.self, DeliveriesInsert.self, Ledger.PendingInsert.self,
        ]
        static let text = combinedText()
        static let parameters = combinedParameters()
    }

    /// Records an authorization's outcome: the intent (guard), the attempt, the charge and the
    /// event, in one write.
    enum AuthorizationSettle: ConstantWriteBatch {
        static let guardPart: (any ConstantStatement.Type)? = IntentSettle.self
        static let parts: [any ConstantStatement.Type] = [AttemptClaim.self, ChargeInsert.self, EventInsert.self, DeliveriesInsert.self]
        static let text = combinedText()
        static let parameters = combinedParameters()
    }

    static func attempt(
        _ attempt: AttemptID, intent: PaymentIntent, operation: String, amount: Int64, refund: RefundID?, now: Date
    ) -> [SQLValue] {
        [
            .text(attempt.rawValue), .text(intent.merchant.rawValue), .text(intent.id.rawValue), .text(operation), .integer(amount),
            .text(refund?.rawValue), .integer(now.unixSeconds),
        ]
    }

    static func intent(_ row: PaymentIntentRow) -> [SQLValue] {
        [
            .text(row.id), .text(row.merchantID), .integer(Int64(row.livemode)), .integer(row.amount), .text(row.currency), .text(row.status),
            .text(row.captureMethod), .text(row.paymentMethod), .text(row.paymentMethodTypes), .text(row.description), .text(row.metadata),
            .text(row.receiptEmail), .text(row.clientSecret), .integer(row.amountCapturable), .integer(row.amountReceived),
            .integer(row.amountRefunded), .text(row.latestCharge), .text(row.lastPaymentError), .text(row.cancellationReason),
            .integer(row.canceledAt), .text(row.returnURL), .text(row.challengeID), .text(row.authentication), .text(row.attemptID),
            .text(row.confirmedByKey), .integer(row.createdAt), .integer(row.updatedAt), .text(row.nextAction),
            .text(row.statementDescriptorSuffix), .text(row.watch),
        ]
    }

    static func charge(_ row: ChargeRow) -> [SQLValue] {
        [
            .text(row.id), .text(row.merchantID), .text(row.paymentIntentID), .integer(row.amount), .integer(row.amountCaptured),
            .integer(row.amountRefunded), .text(row.currency), .text(row.status), .integer(Int64(row.captured)), .text(row.paymentMethod),
            .text(row.acquirer), .text(row.acquirerReference), .text(row.cvcCheck), .text(row.authentication), .text(row.failureCode),
            .text(row.declineCode), .text(row.failureMessage), .integer(row.createdAt), .text(row.watch),
        ]
    }

    /// The guard's values: the settled intent's new state, and what it must still hold.
    /// `claimed` is the intent as the claim left it.
    static func settle(_ settled: PaymentIntentRow, claimed: PaymentIntentRow, attempt: AttemptID) -> [SQLValue] {
        [
            .text(settled.status), .integer(settled.amountCapturable), .integer(settled.amountReceived), .text(settled.latestCharge),
            .text(settled.paymentMethod), .text(settled.lastPaymentError), .integer(settled.updatedAt), .text(settled.id),
            .text(settled.merchantID), .text(attempt.rawValue), .text(claimed.description), .text(claimed.metadata),
            .text(claimed.receiptEmail), .text(claimed.paymentMethodTypes),
        ]
    }
}
