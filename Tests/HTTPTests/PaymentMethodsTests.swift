import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Testing

@Suite("POST/GET /v1/payment_methods")
struct PaymentMethodsTests {
    @Test("a publishable key tokenizes a card into a Stripe-shaped payment_method", arguments: TestBackend.available)
    func tokenize(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let reply = try await api.post(
                    "/v1/payment_methods", key: shop.publishable,
                    form: cardForm(replacing: [
                        "billing_details[name]": "山田 太郎", "billing_details[email]": "taro@example.jp",
                        "billing_details[phone]": "+81 3-1234-5678", "billing_details[address][country]": "jp",
                        "billing_details[address][postal_code]": "100-0001", "metadata[order_id]": "A-1001",
                    ]))
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.headers[.init("Request-Id")!]?.hasPrefix("req_") == true)
                let json = reply.json
                let id = try #require(json["id"] as? String)
                #expect(id.hasPrefix("pm_"))
                #expect(json["object"] as? String == "payment_method")
                #expect(json["type"] as? String == "card")
                #expect(json["livemode"] as? Bool == false)
                #expect(json["created"] as? Int == Int(Date.testNow.timeIntervalSince1970))
                #expect((json["metadata"] as? [String: String]) == ["order_id": "A-1001"])
                let card = try #require(json["card"] as? [String: Any])
                #expect(card["brand"] as? String == "visa")
                #expect(card["last4"] as? String == "4242")
                #expect(card["exp_month"] as? Int == 12)
                #expect(card["exp_year"] as? Int == 2030)
                #expect(card["funding"] as? String == "credit")
                #expect((card["fingerprint"] as? String)?.count == 16)
                #expect(card.keys.contains("country"))
                #expect((card["checks"] as? [String: Any])?["cvc_check"] as? String == "unchecked")
                let billing = try #require(json["billing_details"] as? [String: Any])
                #expect(billing["name"] as? String == "山田 太郎")
                #expect(billing["email"] as? String == "taro@example.jp")
                #expect((billing["address"] as? [String: Any])?["country"] as? String == "JP")
                #expect(!reply.text.contains(TestCards.visa.number))

                // The owner reads it back with its secret key.
                let read = try await api.get("/v1/payment_methods/\(id)", key: shop.secret)
                #expect(read.status == 200)
                #expect(read.json["id"] as? String == id)
                #expect((read.json["card"] as? [String: Any])?["fingerprint"] as? String == card["fingerprint"] as? String)
            }
        }
    }

    @Test("without a security code the check is null", arguments: TestBackend.available)
    func withoutCVC(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let reply = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm(replacing: ["card[cvc]": nil]))
                #expect(reply.status == 200)
                let checks = (reply.json["card"] as? [String: Any])?["checks"] as? [String: Any]
                #expect(checks?["cvc_check"] is NSNull)
            }
        }
    }

    @Test("another merchant's secret key gets 404, as does an unknown or malformed id", arguments: TestBackend.available)
    func isolation(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let owner = try await test.merchant("Owner")
            let other = try await test.merchant("Other")
            try await test.api { api in
                let made = try await api.post("/v1/payment_methods", key: owner.publishable, form: cardForm())
                let id = try #require(made.json["id"] as? String)
                let foreign = try await api.get("/v1/payment_methods/\(id)", key: other.secret)
                #expect(foreign.status == 404)
                #expect(foreign.error["type"] as? String == "invalid_request_error")
                #expect(foreign.error["code"] as? String == "resource_missing")
                #expect(!foreign.text.contains("4242"))
                for path in ["/v1/payment_methods/pm_doesnotexist", "/v1/payment_methods/pm_'%20OR%201=1--", "/v1/payment_methods/acct_123"] {
                    let reply = try await api.get(path, key: other.secret)
                    #expect(reply.status == 404, "\(path)")
                    #expect(reply.error["code"] as? String == "resource_missing")
                }
            }
        }
    }

    @Test("keys: missing, wrong, revoked and wrong-kind keys are refused", arguments: TestBackend.available)
    func authentication(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let missing = try await api.post("/v1/payment_methods", key: nil, form: cardForm())
                #expect(missing.status == 401)
                #expect(missing.error["type"] as? String == "authentication_error")
                let wrong = try await api.post("/v1/payment_methods", key: "pk_test_" + String(repeating: "A", count: 32), form: cardForm())
                #expect(wrong.status == 401)
                let garbage = try await api.post("/v1/payment_methods", key: "'; DROP TABLE api_keys; --", form: cardForm())
                #expect(garbage.status == 401)
                // Card data sent with a secret key, from a server: refused.
                let secret = try await api.post("/v1/payment_methods", key: shop.secret, form: cardForm())
                #expect(secret.status == 403)
                #expect(secret.error["type"] as? String == "permission_error")
                let publishableRead = try await api.get("/v1/payment_methods/pm_abc", key: shop.publishable)
                #expect(publishableRead.status == 403)

                // After a roll the old keys are revoked; the new ones work.
                let rolled = try await test.gateway.merchants.rollKeys(for: shop.id)
                let revoked = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                #expect(revoked.status == 401)
                #expect(revoked.error["code"] as? String == "api_key_expired")
                let fresh = try await api.post("/v1/payment_methods", key: rolled.publishableKey, form: cardForm())
                #expect(fresh.status == 200)
            }
            // Every failure is in the log, with the key masked.
            let failures = test.logs.all.filter { $0.contains("authentication failed") }
            #expect(failures.count == 6)
            #expect(failures.contains { $0.contains("revoked") })
            #expect(!failures.contains { $0.contains(shop.secret) || $0.contains(shop.publishable) })
            #expect(try await test.count("payment_methods") == 1)
        }
    }
}
