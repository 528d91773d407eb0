public import SQLKit
public import Storage

/// The kinds of events card payments emit, named as Stripe names them.
public enum PaymentEventType: String, Sendable, CaseIterable {
    case paymentIntentCreated = "payment_intent.created"
    case paymentIntentSucceeded = "payment_intent.succeeded"
    case paymentIntentPaymentFailed = "payment_intent.payment_failed"
    case paymentIntentRequiresAction = "payment_intent.requires_action"
    case paymentIntentAmountCapturableUpdated = "payment_intent.amount_capturable_updated"
    case paymentIntentCanceled = "payment_intent.canceled"
    /// A confirmation's card is on the exposure watch list (``CardWatch``): flagged or blocked.
    case paymentIntentCardWatchMatched = "payment_intent.card_watch_matched"
    case chargeRefunded = "charge.refunded"
    case refundCreated = "refund.created"
    case checkoutSessionCompleted = "checkout.session.completed"
}

/// Where payments record their events: in the same transaction as the change, so an event
/// exists exactly when its change does.
public protocol PaymentEventSink: Sendable {
    func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws
    /// Records a refund's event; `livemode` is its payment's (a refund row does not carry it).
    func record(_ type: PaymentEventType, refund: Refund, livemode: Bool, on db: any SQLDatabase) async throws
    /// The statements ``record(_:intent:on:)`` runs, for a caller that batches them with its
    /// own writes (``SQLKit/SQLDatabase/runWrites(_:)``).
    func writes(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) -> [any SQLExpression]
    /// The values of ``EventInsert`` and ``DeliveriesInsert`` for an intent's event, for a
    /// caller's ``Storage/ConstantWriteBatch``.
    func batchValues(_ type: PaymentEventType, intent: PaymentIntent) -> EventValues
    /// Records a checkout session's event (`checkout.session.completed`).
    func record(_ type: PaymentEventType, checkoutSession: CheckoutSession, on db: any SQLDatabase) async throws
}

/// An event's insert, as a part of a write batch. A NULL id inserts nothing, so a batch keeps
/// its shape where no event is recorded.
public enum EventInsert: ConstantStatement {
    public static let text = """
        INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at, created_ms) \
        SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE $1 IS NOT NULL
        """
    public static let parameters: [SQLValue.Kind] = [.text, .text, .integer, .text, .text, .text, .integer, .integer]
}

/// One delivery of an event for each of the merchant's live, enabled endpoints that takes its type (`*`
/// or the type in its comma-separated `enabled_events`), chosen by the database so that no
/// round trip reads the endpoints first. A delivery's id is the event's delivery prefix and the
/// endpoint's id. Values: prefix, event id (NULL: nothing), time, merchant, `LIKE` pattern.
public enum DeliveriesInsert: ConstantStatement {
    public static let text = """
        INSERT INTO webhook_deliveries (id, merchant_id, endpoint_id, event_id, state, attempts, next_attempt_at, created_at) \
        SELECT $1 || id, merchant_id, id, $2, 'pending', 0, $3, $3 FROM webhook_endpoints \
        WHERE merchant_id = $4 AND deleted_at IS NULL AND disabled = 0 \
        AND (',' || enabled_events || ',' LIKE '%,*,%' OR ',' || enabled_events || ',' LIKE $5 ESCAPE '!') AND $2 IS NOT NULL
        """
    public static let parameters: [SQLValue.Kind] = [.text, .text, .integer, .text, .text]
}

/// The values of an event's two inserts.
public struct EventValues: Sendable {
    public var event: [SQLValue]
    public var deliveries: [SQLValue]

    public init(event: [SQLValue], deliveries: [SQLValue]) {
        self.event = event
        self.deliveries = deliveries
    }

    /// No event: both inserts insert nothing.
    public static let none = EventValues(
        event: [.text(nil), .text(nil), .integer(nil), .text(nil), .text(nil), .text(nil), .integer(nil), .integer(nil)],
        deliveries: [.text(nil), .text(nil), .integer(nil), .text(nil), .text(nil)])
}

/// Records nothing (tools and tests that do not look at events).
public struct NoEvents: PaymentEventSink {
    public init() {}
    public func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws {}
    public func record(_ type: PaymentEventType, refund: Refund, livemode: Bool, on db: any SQLDatabase) async throws {}
    public func writes(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) -> [any SQLExpression] { [] }
    public func batchValues(_ type: PaymentEventType, intent: PaymentIntent) -> EventValues { .none }
    public func record(_ type: PaymentEventType, checkoutSession: CheckoutSession, on db: any SQLDatabase) async throws {}
}
