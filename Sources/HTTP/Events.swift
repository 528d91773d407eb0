import KessaiCore
import Payments
import SQLKit

/// Records payment events (filled in with the events and webhooks work).
struct EventRecorder: PaymentEventSink {
    let publicURL: String
    let clock: any KessaiClock

    func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws {}
    func record(_ type: PaymentEventType, refund: Refund, on db: any SQLDatabase) async throws {}
}
