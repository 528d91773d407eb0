import Foundation
import Hummingbird
import HummingbirdTesting
import KessaiCore
import KessaiTestSupport
import Testing

@testable import HTTP

/// The audit's finding 3: a checkout page or a client secret must not be a card-testing oracle.
@Suite("Card tries are capped per checkout session, per intent and per source address")
struct CardTryLimitTests {
    static let insufficientFunds = TestCards.Card(number: "4000000000009995", brand: "visa", cvc: "123")

    static func securityEvents(_ test: TestGateway, kind: String) async throws -> Int {
        try await test.gateway.database.withConnection { db in
            try await db.select().column("id").from("security_events").where("kind", .equal, kind).all().count
        }
    }

    @Test("a checkout session takes 8 card tries; the 8th failure expires it and later tries are refused", arguments: TestBackend.available)
    func checkoutCap(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let cap = test.gateway.configuration.cardAttempts.perSession
            try await test.api { api in
                let session = try await api.post(
                    "/v1/checkout/sessions", key: shop.secret,
                    form: [
                        ("mode", "payment"), ("success_url", "https://shop.example/ok"), ("line_items[0][quantity]", "1"),
                        ("line_items[0][price_data][currency]", "jpy"), ("line_items[0][price_data][unit_amount]", "1200"),
                        ("line_items[0][price_data][product_data][name]", "Tea"),
                    ])
                let id = try #require(session.json["id"] as? String)
                let form = [("email", "a@example.com"), ("name", "Hanako"), ("cardnumber", Self.insufficientFunds.number), ("exp", "12/30"), ("cvc", "123")]
                for attempt in 1...cap {
                    let reply = try await api.post("/checkout/\(id)", key: nil, form: form)
                    if attempt < cap {
                        #expect(reply.status == 402, "try \(attempt)")
                        #expect(reply.text.contains("id=\"error\""))
                    } else {
                        #expect(reply.status == 410, "the last try expires the session")
                        #expect(reply.text.contains("data-status=\"expired\""))
                    }
                }
                let after = try await api.post("/checkout/\(id)", key: nil, form: form)
                #expect(after.status != 402 && !after.text.contains("insufficient"), "no more answers about the card")
                let read = try await api.get("/v1/checkout/sessions/\(id)", key: shop.secret)
                #expect(read.json["status"] as? String == "expired")
            }
            #expect(try await Self.securityEvents(test, kind: "card_attempts_refused") >= 1)
        }
    }

    @Test("an intent confirmed 10 times refuses the 11th with a clear error, for secret and publishable keys", arguments: TestBackend.available)
    func intentCap(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let cap = test.gateway.configuration.cardAttempts.perIntent
            try await test.api { api in
                let intent = try await api.post("/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")])
                let id = try #require(intent.json["id"] as? String)
                let secret = try #require(intent.json["client_secret"] as? String)
                for attempt in 1...(cap + 1) {
                    let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm(Self.insufficientFunds))
                    let pm = try #require(method.json["id"] as? String)
                    let reply = try await api.post(
                        "/v1/payment_intents/\(id)/confirm", key: shop.publishable, form: [("payment_method", pm), ("client_secret", secret)])
                    if attempt <= cap {
                        #expect(reply.status == 402, "try \(attempt): \(reply.text)")
                    } else {
                        #expect(reply.status == 400)
                        #expect(reply.error["code"] as? String == "payment_intent_attempts_exceeded")
                        #expect(reply.error["decline_code"] == nil, "no answer about the card")
                    }
                }
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let refused = try await api.post(
                    "/v1/payment_intents/\(id)/confirm", key: shop.secret, form: [("payment_method", try #require(method.json["id"] as? String))])
                #expect(refused.error["code"] as? String == "payment_intent_attempts_exceeded")
            }
            #expect(try await Self.securityEvents(test, kind: "card_attempts_refused") >= 1)
        }
    }

    @Test("tries from one source address past its minute's allowance get 429, on the API and on the checkout page")
    func sourceRate() async throws {
        try await TestGateway.with(.sqlite, configure: { $0.cardAttempts.perSourcePerMinute = 3 }) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                var statuses: [Int] = []
                for _ in 0..<4 {
                    let intent = try await api.post("/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")])
                    let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm(Self.insufficientFunds))
                    let reply = try await api.post(
                        "/v1/payment_intents/\(try #require(intent.json["id"] as? String))/confirm", key: shop.publishable,
                        form: [
                            ("payment_method", try #require(method.json["id"] as? String)),
                            ("client_secret", try #require(intent.json["client_secret"] as? String)),
                        ])
                    statuses.append(reply.status)
                }
                #expect(statuses == [402, 402, 402, 429])
                // The server's own confirmations (secret key) are not a buyer's tries.
                let intent = try await api.post("/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")])
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let own = try await api.post(
                    "/v1/payment_intents/\(try #require(intent.json["id"] as? String))/confirm", key: shop.secret,
                    form: [("payment_method", try #require(method.json["id"] as? String))])
                #expect(own.status == 200)
                // A minute later the address may try again.
                test.clock.advance(by: 61)
                let later = try await api.post("/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")])
                let card = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let again = try await api.post(
                    "/v1/payment_intents/\(try #require(later.json["id"] as? String))/confirm", key: shop.publishable,
                    form: [
                        ("payment_method", try #require(card.json["id"] as? String)), ("client_secret", try #require(later.json["client_secret"] as? String)),
                    ])
                #expect(again.status == 200)
            }
        }
    }
}
