import KessaiCore
import Payments
import SQLKit
import Storage

/// Records each payment event, with the object as the API shows it at that moment, and queues
/// one delivery per matching webhook endpoint, in the transaction that made the change. It is
/// the domain's ``Payments/PaymentEventSink`` at the HTTP edge, because an event carries the
/// object in its wire shape (the DTOs); the `Webhooks` target delivers what it stores.
struct EventRecorder: PaymentEventSink {
    let publicURL: String
    let clock: any KessaiClock

    func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws {
        try await db.runWrites(writes(type, intent: intent, on: db))
    }

    func writes(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) -> [any SQLExpression] {
        writes(
            type, merchant: intent.merchant, livemode: intent.livemode, objectID: intent.id.rawValue,
            object: PaymentIntentDTO(intent: intent, publicURL: publicURL).json, on: db)
    }

    func record(_ type: PaymentEventType, refund: Refund, livemode: Bool, on db: any SQLDatabase) async throws {
        try await record(type, merchant: refund.merchant, livemode: livemode, objectID: refund.id.rawValue, object: RefundDTO(refund: refund).json, on: db)
    }

    func record(_ type: PaymentEventType, checkoutSession: CheckoutSession, on db: any SQLDatabase) async throws {
        try await record(
            type, merchant: checkoutSession.merchant, livemode: checkoutSession.livemode, objectID: checkoutSession.id.rawValue,
            object: checkoutSession.json(publicURL: publicURL, now: clock.now().unixSeconds), on: db)
    }

    func record(
        _ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue, on db: any SQLDatabase
    ) async throws {
        try await db.runWrites(writes(type, merchant: merchant, livemode: livemode, objectID: objectID, object: object, on: db))
    }

    func batchValues(_ type: PaymentEventType, intent: PaymentIntent) -> EventValues {
        values(
            type, merchant: intent.merchant, livemode: intent.livemode, objectID: intent.id.rawValue,
            object: PaymentIntentDTO(intent: intent, publicURL: publicURL).json)
    }

    /// Two statements: the event, and one delivery for each of the merchant's live endpoints
    /// that takes this type (``DeliveriesInsert``).
    func writes(
        _ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue, on db: any SQLDatabase
    ) -> [any SQLExpression] {
        let values = values(type, merchant: merchant, livemode: livemode, objectID: objectID, object: object)
        return [ConstantExpression(EventInsert.self, values.event), ConstantExpression(DeliveriesInsert.self, values.deliveries)]
    }

    func values(_ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue) -> EventValues {
        let now = clock.now()
        let id = EventID.random()
        return EventValues(
            event: [
                .text(id.rawValue), .text(merchant.rawValue), .flag(livemode), .text(type.rawValue), .text(objectID), .text(object.serialized()),
                .integer(now.unixSeconds), .integer(Int64(now.timeIntervalSince1970 * 1000)),
            ],
            deliveries: [
                .text(WebhookDeliveryID.random().rawValue + "_"), .text(id.rawValue), .integer(now.unixSeconds), .text(merchant.rawValue),
                .text("%," + Self.likeEscaped(type.rawValue) + ",%"),
            ])
    }

    /// `text` matched literally by `LIKE … ESCAPE '!'` (event types hold `_`).
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "!" || character == "%" || character == "_" { escaped.append("!") }
            escaped.append(character)
        }
        return escaped
    }
}
