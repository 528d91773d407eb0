import Crypto
import Foundation
import KessaiCore
import KessaiTestSupport
import SQLKit
import Testing

@testable import HTTP
@testable import Payments
@testable import Webhooks

/// The delivery schedule through the recording sender: no sockets, every request kept.
@Suite("Webhook delivery: signed, retried with backoff, never to a disabled endpoint")
struct WebhookDeliveryTests {
    static func event(_ test: TestGateway, merchant: MerchantID, _ id: String) async throws {
        let recorder = EventRecorder(publicURL: "http://127.0.0.1", clock: test.gateway.clock)
        try await test.gateway.database.transaction { db in
            try await recorder.record(
                .paymentIntentSucceeded, merchant: merchant, livemode: false, objectID: id, object: .object([("id", .string(id))]), on: db)
        }
    }

    static func state(_ test: TestGateway) async throws -> [(String, Int)] {
        try await test.gateway.database.withConnection { db in
            try await db.select().columns("state", "attempts").from("webhook_deliveries").orderBy("created_at").all()
                .map { (try $0.decode(column: "state", as: String.self), try $0.decode(column: "attempts", as: Int.self)) }
        }
    }

    @Test("an event is sent once per endpoint, signed so that the endpoint's secret verifies it", arguments: TestBackend.available)
    func signedDelivery(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let (endpoint, secret) = try await test.gateway.webhookEndpoints.create(
                merchant: shop.id, livemode: false, url: "https://shop.example/hooks", events: ["*"], description: nil)
            try await Self.event(test, merchant: shop.id, "pi_one")
            let sender = RecordingWebhookSender()
            let service = WebhookDeliveryService(
                database: test.gateway.database, endpoints: test.gateway.webhookEndpoints, sender: sender, clock: test.clock, logger: test.logs.logger(),
                retryBase: 60)
            #expect(try await service.deliverDue() == 1)
            #expect(try await service.deliverDue() == 0, "a delivered event is not sent again")
            let sent = try #require(sender.sent.first)
            #expect(sender.sent.count == 1 && sent.url == endpoint.url)
            // Verify as a merchant's code does: t=…,v1=HMAC-SHA256(secret, "t.body").
            let parts = Dictionary(
                uniqueKeysWithValues: sent.signature.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1) }.map { (String($0[0]), String($0[1])) }
            )
            let mac = HMAC<SHA256>.authenticationCode(
                for: Data("\(try #require(parts["t"])).\(sent.body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            #expect(parts["v1"] == mac.map { String(format: "%02x", $0) }.joined())
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body.utf8)) as? [String: Any])
            #expect(body["type"] as? String == "payment_intent.succeeded" && body["object"] as? String == "event")
            #expect(try await Self.state(test).map(\.0) == ["delivered"])
        }
    }

    @Test("a failing endpoint is retried after 60 s, then 120 s; the attempts are recorded", arguments: TestBackend.available)
    func backoff(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            _ = try await test.gateway.webhookEndpoints.create(
                merchant: shop.id, livemode: false, url: "https://shop.example/hooks", events: ["*"], description: nil)
            try await Self.event(test, merchant: shop.id, "pi_two")
            let sender = RecordingWebhookSender(status: 500)
            let service = WebhookDeliveryService(
                database: test.gateway.database, endpoints: test.gateway.webhookEndpoints, sender: sender, clock: test.clock, logger: test.logs.logger(),
                retryBase: 60)
            #expect(try await service.deliverDue() == 1)
            #expect(try await Self.state(test).first?.0 == "pending")
            test.clock.advance(by: 59)
            #expect(try await service.deliverDue() == 0, "not before the first retry delay")
            test.clock.advance(by: 2)
            #expect(try await service.deliverDue() == 1)
            test.clock.advance(by: 61)
            #expect(try await service.deliverDue() == 0, "the second delay is twice the first")
            sender.answer(with: 204)
            test.clock.advance(by: 60)
            #expect(try await service.deliverDue() == 1)
            #expect(try await Self.state(test).first.map { [$0.0, String($0.1)] } == ["delivered", "3"])
            let attempts = try await test.count("webhook_attempts")
            #expect(attempts == 3 && sender.sent.count == 3)
        }
    }

    @Test("a disabled endpoint gets no deliveries until it is enabled again; url and events can be changed", arguments: TestBackend.available)
    func disabledEndpoint(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other")
            let endpoints = test.gateway.webhookEndpoints
            let (endpoint, _) = try await endpoints.create(merchant: shop.id, livemode: false, url: "https://shop.example/a", events: ["*"], description: nil)
            #expect(try await endpoints.update(endpoint.id, merchant: other.id, .init(enabled: false)) == nil, "another merchant's endpoint is not found")
            let disabled = try await endpoints.update(endpoint.id, merchant: shop.id, .init(enabled: false))
            #expect(disabled?.enabled == false)
            try await Self.event(test, merchant: shop.id, "pi_three")
            let sender = RecordingWebhookSender()
            let service = WebhookDeliveryService(
                database: test.gateway.database, endpoints: endpoints, sender: sender, clock: test.clock, logger: test.logs.logger(), retryBase: 60)
            #expect(try await service.deliverDue() == 0 && sender.sent.isEmpty)
            #expect(try await test.count("webhook_deliveries") == 0, "no delivery is queued for a disabled endpoint")
            let enabled = try await endpoints.update(
                endpoint.id, merchant: shop.id, .init(url: "https://shop.example/b", enabledEvents: ["payment_intent.succeeded"], enabled: true))
            #expect(enabled?.url == "https://shop.example/b" && enabled?.enabledEvents == ["payment_intent.succeeded"] && enabled?.enabled == true)
            try await Self.event(test, merchant: shop.id, "pi_four")
            #expect(try await service.deliverDue() == 1)
            #expect(sender.sent.map(\.url) == ["https://shop.example/b"])
        }
    }
}
