import Foundation
import KessaiCore
import KessaiTestSupport
import Testing

@testable import HTTP

/// What merchants reach for first (issue 15, item 6): charges, `created[…]` on lists, `expand[]`,
/// and changing a webhook endpoint.
@Suite("Charges, created filters, expand and webhook endpoint updates")
struct SurfaceTests {
    /// A confirmed card payment; its intent id.
    static func pay(_ api: APIClient, _ shop: (id: MerchantID, secret: String, publishable: String)) async throws -> [String: Any] {
        let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
        let pm = try #require(method.json["id"] as? String)
        let intent = try await api.post(
            "/v1/payment_intents", key: shop.secret, form: [("amount", "1200"), ("currency", "jpy"), ("payment_method", pm), ("confirm", "true")])
        #expect(intent.status == 200, "\(intent.text)")
        return intent.json
    }

    @Test("charges are listed and retrieved for their merchant only, by intent and by creation time", arguments: TestBackend.available)
    func charges(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other")
            try await test.api { api in
                let first = try await Self.pay(api, shop)
                let start = Int(test.clock.now().timeIntervalSince1970)
                test.clock.advance(by: 100)
                let second = try await Self.pay(api, shop)
                let all = try await api.get("/v1/charges", key: shop.secret)
                let data = try #require(all.json["data"] as? [[String: Any]])
                #expect(data.count == 2 && data.first?["payment_intent"] as? String == second["id"] as? String)
                let chargeID = try #require(first["latest_charge"] as? String)
                let one = try await api.get("/v1/charges/\(chargeID)", key: shop.secret)
                #expect(one.json["object"] as? String == "charge" && one.json["amount"] as? Int == 1200 && one.json["paid"] as? Bool == true)
                #expect(!one.text.contains(TestCards.visa.number))
                #expect(try await api.get("/v1/charges/\(chargeID)", key: other.secret).status == 404)
                let byIntent = try await api.get("/v1/charges?payment_intent=\(try #require(first["id"] as? String))", key: shop.secret)
                #expect((byIntent.json["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [chargeID])
                // created[…] windows, on charges, intents and refunds alike.
                let later = try await api.get("/v1/charges?created%5Bgt%5D=\(start)", key: shop.secret)
                #expect((later.json["data"] as? [[String: Any]])?.count == 1)
                let earlier = try await api.get("/v1/payment_intents?created%5Blte%5D=\(start)", key: shop.secret)
                #expect((earlier.json["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [first["id"] as? String])
                let window = try await api.get("/v1/payment_intents?created%5Bgte%5D=\(start)&created%5Blt%5D=\(start + 1000)", key: shop.secret)
                #expect((window.json["data"] as? [[String: Any]])?.count == 2)
                #expect((try await api.get("/v1/refunds?created%5Bgte%5D=\(start)", key: shop.secret).json["data"] as? [Any])?.isEmpty == true)
                for bad in ["created=5", "created%5Bsoon%5D=1", "created%5Bgt%5D=yesterday"] {
                    let reply = try await api.get("/v1/payment_intents?\(bad)", key: shop.secret)
                    #expect(reply.status == 400, "\(bad)")
                }
            }
        }
    }

    @Test("expand[] replaces latest_charge and payment_method by the objects; anything else is refused, not ignored")
    func expand() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let paid = try await Self.pay(api, shop)
                let id = try #require(paid["id"] as? String)
                let expanded = try await api.get("/v1/payment_intents/\(id)?expand%5B%5D=latest_charge&expand%5B%5D=payment_method", key: shop.secret)
                #expect((expanded.json["latest_charge"] as? [String: Any])?["object"] as? String == "charge")
                #expect((expanded.json["payment_method"] as? [String: Any])?["object"] as? String == "payment_method")
                let list = try await api.get("/v1/payment_intents?expand%5B%5D=data.latest_charge", key: shop.secret)
                let first = try #require((list.json["data"] as? [[String: Any]])?.first)
                #expect((first["latest_charge"] as? [String: Any])?["id"] as? String == paid["latest_charge"] as? String)
                let created = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy"), ("expand[]", "payment_method")])
                #expect(created.status == 200 && created.json["payment_method"] is NSNull)
                for path in ["customer", "latest_charge.balance_transaction", "data.latest_charge"] {
                    let refused = try await api.get("/v1/payment_intents/\(id)?expand%5B%5D=\(path)", key: shop.secret)
                    #expect(refused.status == 400 && refused.error["param"] as? String == "expand", "\(path)")
                }
                let refund = try await api.post("/v1/refunds", key: shop.secret, form: [("payment_intent", id), ("expand[]", "charge")])
                #expect(refund.status == 400, "a refund expands nothing yet")
                let secret = try #require(paid["client_secret"] as? String)
                let publishable = try await api.get("/v1/payment_intents/\(id)?client_secret=\(secret)&expand%5B%5D=latest_charge", key: shop.publishable)
                #expect(publishable.status == 400, "a publishable key sees the reduced intent, nothing expanded")
            }
        }
    }

    @Test("a konbini payment method is retrieved like a card's, for its merchant only", arguments: TestBackend.available)
    func cashPaymentMethod(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other")
            try await test.api { api in
                let intent = try await api.post(
                    "/v1/payment_intents", key: shop.secret,
                    form: [
                        ("amount", "1500"), ("currency", "jpy"), ("payment_method_types[]", "konbini"), ("payment_method_data[type]", "konbini"),
                        ("payment_method_data[billing_details][name]", "山田 花子"), ("payment_method_data[billing_details][email]", "hanako@example.jp"),
                        ("confirm", "true"),
                    ])
                #expect(intent.status == 200, "\(intent.text)")
                let pm = try #require(intent.json["payment_method"] as? String)
                let read = try await api.get("/v1/payment_methods/\(pm)", key: shop.secret)
                #expect(read.status == 200 && read.json["type"] as? String == "konbini" && read.json["object"] as? String == "payment_method")
                #expect((read.json["billing_details"] as? [String: Any])?["email"] as? String == "hanako@example.jp")
                #expect(try await api.get("/v1/payment_methods/\(pm)", key: other.secret).status == 404)
            }
        }
    }

    @Test("statement_descriptor_suffix is kept, changed and cleared; what a card statement cannot print is refused", arguments: TestBackend.available)
    func statementDescriptorSuffix(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let made = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy"), ("statement_descriptor_suffix", "ORDER 1001")])
                #expect(made.status == 200 && made.json["statement_descriptor_suffix"] as? String == "ORDER 1001", "\(made.text)")
                let id = try #require(made.json["id"] as? String)
                // The confirm=true path writes the intent through its constant statement.
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let paid = try await api.post(
                    "/v1/payment_intents", key: shop.secret,
                    form: [
                        ("amount", "1000"), ("currency", "jpy"), ("payment_method", try #require(method.json["id"] as? String)), ("confirm", "true"),
                        ("statement_descriptor_suffix", "TEA-42"),
                    ])
                #expect(paid.json["status"] as? String == "succeeded" && paid.json["statement_descriptor_suffix"] as? String == "TEA-42")
                let changed = try await api.post("/v1/payment_intents/\(id)", key: shop.secret, form: [("statement_descriptor_suffix", "SPRING SALE")])
                #expect(changed.json["statement_descriptor_suffix"] as? String == "SPRING SALE")
                let read = try await api.get("/v1/payment_intents/\(id)", key: shop.secret)
                #expect(read.json["statement_descriptor_suffix"] as? String == "SPRING SALE")
                let cleared = try await api.post("/v1/payment_intents/\(id)", key: shop.secret, form: [("statement_descriptor_suffix", "")])
                #expect(cleared.json["statement_descriptor_suffix"] is NSNull)
                for bad in ["<b>", "12345", String(repeating: "A", count: 23), "注文", "O'Brien", "A*B"] {
                    let reply = try await api.post(
                        "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy"), ("statement_descriptor_suffix", bad)])
                    #expect(reply.status == 400 && reply.error["param"] as? String == "statement_descriptor_suffix", "\(bad)")
                }
            }
        }
    }

    @Test("a webhook endpoint is updated and disabled through the API, and another merchant's is not found")
    func webhookEndpointUpdate() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other")
            try await test.api { api in
                let made = try await api.post(
                    "/v1/webhook_endpoints", key: shop.secret, form: [("url", "https://shop.example/a"), ("enabled_events[]", "*")])
                let id = try #require(made.json["id"] as? String)
                let changed = try await api.post(
                    "/v1/webhook_endpoints/\(id)", key: shop.secret,
                    form: [("url", "https://shop.example/b"), ("disabled", "true"), ("enabled_events[]", "charge.refunded")])
                #expect(changed.status == 200, "\(changed.text)")
                #expect(changed.json["status"] as? String == "disabled" && changed.json["url"] as? String == "https://shop.example/b")
                #expect(changed.json["secret"] == nil, "the secret is shown only at creation")
                #expect(try await api.post("/v1/webhook_endpoints/\(id)", key: other.secret, form: [("disabled", "true")]).status == 404)
                let enabled = try await api.post("/v1/webhook_endpoints/\(id)", key: shop.secret, form: [("disabled", "false")])
                #expect(enabled.json["status"] as? String == "enabled" && enabled.json["enabled_events"] as? [String] == ["charge.refunded"])
                let bad = try await api.post("/v1/webhook_endpoints/\(id)", key: shop.secret, form: [("url", "ftp://x")])
                #expect(bad.status == 400 && bad.error["code"] as? String == "url_invalid")
            }
        }
    }
}
