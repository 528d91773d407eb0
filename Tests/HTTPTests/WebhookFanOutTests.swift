import KessaiCore
import KessaiTestSupport
import SQLKit
import Testing

@testable import HTTP
@testable import Payments
@testable import Webhooks

@Suite("Webhook fan-out: one delivery per live endpoint of the merchant that takes the event type")
struct WebhookFanOutTests {
    @Test("an event reaches `*` and endpoints naming its type, never another type's, a deleted one or another merchant's", arguments: TestBackend.available)
    func fanOut(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other Shop")
            let endpoints = test.gateway.webhookEndpoints
            let url = "https://shop.example/hooks"
            let all = try await endpoints.create(merchant: shop.id, livemode: false, url: url, events: ["*"], description: nil).0.id
            let named = try await endpoints.create(
                merchant: shop.id, livemode: false, url: url, events: ["charge.refunded", "payment_intent.canceled"], description: nil
            ).0.id
            // `_` is a LIKE wildcard: this type must not match payment_intent.canceled.
            let lookalike = try await endpoints.create(merchant: shop.id, livemode: false, url: url, events: ["payment.intent.canceled"], description: nil)
                .0.id
            let deleted = try await endpoints.create(merchant: shop.id, livemode: false, url: url, events: ["*"], description: nil).0.id
            #expect(try await endpoints.delete(deleted, merchant: shop.id))
            let foreign = try await endpoints.create(merchant: other.id, livemode: false, url: url, events: ["*"], description: nil).0.id

            let recorder = EventRecorder(publicURL: "http://127.0.0.1", clock: test.gateway.clock)
            for type in [PaymentEventType.paymentIntentCreated, .paymentIntentCanceled] {
                try await test.gateway.database.transaction { db in
                    try await recorder.record(type, merchant: shop.id, livemode: false, objectID: "pi_test", object: .object([("id", "pi_test")]), on: db)
                }
            }
            let rows = try await test.gateway.database.withConnection { db in
                try await db.select().columns("endpoint_id", "event_id", "state").from("webhook_deliveries").all()
            }
            var perEndpoint: [String: Int] = [:]
            for row in rows { perEndpoint[try row.decode(column: "endpoint_id", as: String.self), default: 0] += 1 }
            #expect(perEndpoint == [all: 2, named: 1], "\(perEndpoint)")
            #expect(perEndpoint[lookalike] == nil && perEndpoint[deleted] == nil && perEndpoint[foreign] == nil)
            #expect(try rows.allSatisfy { try $0.decode(column: "state", as: String.self) == "pending" })
            #expect(Set(try rows.map { try $0.decode(column: "event_id", as: String.self) }).count == 2)
        }
    }

    @Test("a refund's event carries its payment's mode", arguments: TestBackend.available)
    func refundMode(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let recorder = EventRecorder(publicURL: "http://127.0.0.1", clock: test.gateway.clock)
            for livemode in [true, false] {
                let refund = Refund(
                    id: RefundID.random(), merchant: shop.id, paymentIntent: PaymentIntentID.random(), charge: ChargeID.random(), amount: 100,
                    currency: .jpy, status: .succeeded, reason: nil, metadata: [:], failureReason: nil, created: test.gateway.clock.now())
                try await test.gateway.database.transaction { db in
                    try await recorder.record(.refundCreated, refund: refund, livemode: livemode, on: db)
                }
                let row = try await test.gateway.database.withConnection { db in
                    try await db.select().column("livemode").from("events").where("object_id", .equal, refund.id.rawValue).first()
                }
                #expect(try row?.decode(column: "livemode", as: Int.self) == (livemode ? 1 : 0))
            }
        }
    }
}
