public import SQLKit

/// The kinds of events card payments emit, named as Stripe names them.
public enum PaymentEventType: String, Sendable, CaseIterable {
    case paymentIntentCreated = "payment_intent.created"
    case paymentIntentSucceeded = "payment_intent.succeeded"
    case paymentIntentPaymentFailed = "payment_intent.payment_failed"
    case paymentIntentRequiresAction = "payment_intent.requires_action"
    case paymentIntentAmountCapturableUpdated = "payment_intent.amount_capturable_updated"
    case paymentIntentCanceled = "payment_intent.canceled"
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
}

/// Records nothing (tools and tests that do not look at events).
public struct NoEvents: PaymentEventSink {
    public init() {}
    public func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws {}
    public func record(_ type: PaymentEventType, refund: Refund, livemode: Bool, on db: any SQLDatabase) async throws {}
    public func writes(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) -> [any SQLExpression] { [] }
}
