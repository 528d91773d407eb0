/// The PaymentIntent lifecycle as one table. Every flow changes an intent's status through
/// ``PaymentIntent/move(to:)``, so a transition that is not here cannot happen anywhere.
///
///     requires_payment_method ─┬─▶ requires_confirmation ─▶ processing
///                              ├─▶ processing (confirm)       │
///                              └─▶ requires_action (cash)     ├─▶ requires_action (3-D Secure) ─▶ processing | requires_payment_method
///     processing ─▶ succeeded | requires_capture | requires_payment_method (declined) | requires_confirmation (released)
///     requires_capture ─▶ processing (capture or void) ─▶ succeeded | canceled | requires_capture (failed)
///     any state before processing, and requires_capture, ─▶ canceled
extension PaymentIntent.Status {
    /// Every allowed transition, from each status to the ones it may become.
    public static let transitions: [PaymentIntent.Status: Set<PaymentIntent.Status>] = [
        // A payment method attached; a confirmation claimed; a cash voucher or redirect issued; canceled.
        .requiresPaymentMethod: [.requiresConfirmation, .processing, .requiresAction, .canceled],
        .requiresConfirmation: [.requiresPaymentMethod, .processing, .requiresAction, .canceled],
        // 3-D Secure passed (authorize) or failed, or abandoned by a new payment method; a cash
        // payment made, expired or refused; canceled.
        .requiresAction: [.processing, .requiresPaymentMethod, .requiresConfirmation, .succeeded, .canceled],
        // The acquirer's answer: approved (captured or not), declined; or the attempt released
        // unanswered, or a challenge required; or a capture or void settled.
        .processing: [.succeeded, .requiresCapture, .requiresPaymentMethod, .requiresConfirmation, .requiresAction, .canceled],
        // Capture and void are claimed as processing first; an expired authorization is canceled.
        .requiresCapture: [.processing, .canceled],
        .succeeded: [],
        .canceled: [],
    ]

    /// Whether an intent in this status may become `next`.
    public func canMove(to next: PaymentIntent.Status) -> Bool {
        Self.transitions[self]?.contains(next) ?? false
    }

    /// Every status, for tables and tests.
    public static let all: [PaymentIntent.Status] = [
        .requiresPaymentMethod, .requiresConfirmation, .requiresAction, .processing, .requiresCapture, .succeeded, .canceled,
    ]
}

/// A flow tried a status change the lifecycle does not allow: a bug, or a race the flow must
/// have excluded (it is never the caller's fault, so it maps to a 409 state error at most).
public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public let from: PaymentIntent.Status
    public let to: PaymentIntent.Status

    public var description: String { "illegal PaymentIntent transition \(from.rawValue) → \(to.rawValue)" }
}
