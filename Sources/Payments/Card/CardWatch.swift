public import KessaiCore
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A payment made with a card on the exposure watch list: a card whose number an incident
/// exposed (`kessai incident watch`). The same number at any merchant matches, through the
/// vault's internal fingerprint; a reissued card has a new number and does not. The payment
/// carries the match on the intent and its charge; a merchant that refuses watched cards has
/// such a payment blocked before the card is read or the acquirer called.
public struct CardWatch: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        /// The payment went ahead, marked (the charge's risk level is `elevated`).
        case flagged
        /// The merchant refuses watched cards: blocked, never sent to the acquirer.
        case refused
    }

    /// The incident that exposed the card (`inc_…`), when the listing named one.
    public let incident: String?
    /// When the card was listed (Unix seconds).
    public let listedAt: Int64
    public let action: Action

    public init(incident: String?, listedAt: Int64, action: Action) {
        self.incident = incident
        self.listedAt = listedAt
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case incident, action
        case listedAt = "listed_at"
    }

    /// The rule's id in the charge's `outcome.rule`.
    public static let rule = "rule_exposed_card_watch"
}

extension CardPayments {
    /// Whether a merchant's card is on the watch list, and what the merchant does with one.
    enum WatchLookup: ConstantStatement {
        static let text = """
            SELECT watched_cards.incident, watched_cards.added_at, merchants.refuse_watched_cards FROM vault_cards \
            JOIN watched_cards ON watched_cards.fingerprint = vault_cards.fingerprint \
            JOIN merchants ON merchants.id = vault_cards.merchant_id \
            WHERE vault_cards.token = $1 AND vault_cards.merchant_id = $2 AND watched_cards.livemode = $3
            """
        static let parameters: [SQLValue.Kind] = [.text, .text, .integer]
    }

    /// The watch a payment with `method` falls under, if its card is listed (in the payment's mode).
    static func watch(_ method: PaymentMethodID, merchant: MerchantID, livemode: Bool, on db: any SQLDatabase) async throws -> CardWatch? {
        guard let row = try await db.rows(WatchLookup.self, [.text(method.rawValue), .text(merchant.rawValue), .integer(livemode ? 1 : 0)]).first
        else { return nil }
        return CardWatch(incident: try row.optionalText(0), listedAt: try row.integer(1), action: try row.integer(2) != 0 ? .refused : .flagged)
    }
}

extension CardPayments {
    /// Blocks a confirmation whose card is watched, for a merchant that refuses watched cards:
    /// the card is not read and the acquirer not called. The intent goes back to
    /// `requires_payment_method` with a declined charge whose outcome says the payment was
    /// blocked by the watch rule, as Stripe reports a payment its rules block.
    /// - Parameters:
    ///   - intent: the intent being confirmed, with its `watch` set.
    ///   - isNew: whether the intent is being created with this confirmation (it is inserted).
    /// - Returns: the blocked intent, as written.
    func block(
        _ intent: PaymentIntent, method: PaymentMethodID, confirmation: Confirmation, isNew: Bool, now: Date, on db: any SQLDatabase
    ) async throws -> PaymentIntent {
        let created = intent
        var blocked = intent
        // A retry with the same Idempotency-Key after a crash is answered with this intent.
        blocked.confirmedByKey = confirmation.idempotencyKey
        if let returnURL = confirmation.returnURL { blocked.returnURL = returnURL }
        let message = "Your card was declined."
        let charge = Charge(
            id: ChargeID.random(), merchant: intent.merchant, paymentIntent: intent.id, amount: intent.amount, amountCaptured: 0, amountRefunded: 0,
            currency: intent.currency, status: "failed", captured: false, paymentMethod: method, acquirer: acquirer.name, acquirerReference: nil,
            cvcCheck: nil, authentication: nil, failureCode: "card_declined", declineCode: "merchant_blacklist", failureMessage: message, created: now,
            watch: intent.watch)
        try blocked.move(to: .processing)
        try blocked.move(to: .requiresPaymentMethod)
        blocked.paymentMethod = nil
        blocked.latestCharge = charge.id
        blocked.lastPaymentError = PaymentError(
            type: "card_error", code: "card_declined", declineCode: "merchant_blacklist", message: message, paymentMethod: method.rawValue)
        blocked.updated = now
        var writes: [any SQLExpression] = []
        if isNew {
            writes.append(try db.insert(into: "payment_intents").model(PaymentIntentRow(blocked), nilEncodingStrategy: .asNil).query)
            writes += events.writes(.paymentIntentCreated, intent: created, on: db)
        } else {
            writes.append(try Self.saving(blocked, on: db))
        }
        writes.append(try db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).query)
        writes += events.writes(.paymentIntentCardWatchMatched, intent: blocked, on: db)
        writes += events.writes(.paymentIntentPaymentFailed, intent: blocked, on: db)
        try await db.runWrites(writes)
        return blocked
    }
}
