import Foundation
import KessaiCore
import KessaiTestSupport
import SQLKit
import Testing

@testable import HTTP

/// Invariant 1 when a merchant pastes a card number into the wrong field: refused with a 400
/// naming the parameter, nothing stored, a security event recorded.
@Suite("A card number in a free-text field is refused and never stored")
struct FreeTextCardNumberTests {
    /// The numbers tried, in the forms people paste them.
    static let pasted = ["4242424242424242", "5555 5555 5555 4444", "3566-0020-2036-0505", "４２４２４２４２４２４２４２４２", "Card 378282246310005 exp 12/30"]

    @Test("the scanner finds numbers of every brand in any grouping, and not timestamps, phone numbers or ids")
    func scanner() {
        for card in TestCards.all {
            #expect(CardNumberScan.containsCardNumber(card.number), "\(card.brand)")
            #expect(CardNumberScan.containsCardNumber("note: " + card.number + "."), "\(card.brand) in text")
        }
        for text in Self.pasted + ["4242 4242 4242 4242 12/34 123", "order 1, card 4242-4242-4242-4242", "x4242424242424242"] {
            #expect(CardNumberScan.containsCardNumber(text), "\(text)")
        }
        for text in [
            "20261202123456", "1795000000000", "090-1234-5678", "order-1001", "4242424242424241",
            "pi_3Nx8a9b2c4242424242424242ZZ"
                .replacingOccurrences(of: "4242424242424242", with: "12345678901234567"), "0120-123-456", "1234 5678 9012 3456", "",
        ] {
            #expect(!CardNumberScan.containsCardNumber(text), "\(text)")
        }
    }

    @Test("every stored free-text field of the API refuses a card number, names only the parameter, and stores nothing", arguments: TestBackend.available)
    func everyField(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let intentForm = [("amount", "1000"), ("currency", "jpy")]
            let checkout = [
                ("mode", "payment"), ("success_url", "https://shop.example/ok"), ("line_items[0][quantity]", "1"),
                ("line_items[0][price_data][currency]", "jpy"), ("line_items[0][price_data][unit_amount]", "1200"),
                ("line_items[0][price_data][product_data][name]", "Tea"),
            ]
            // (path, key, the valid form, the parameter to fill with a number)
            let cases: [(String, String, [(String, String)], String)] = [
                ("/v1/payment_intents", shop.secret, intentForm, "description"),
                ("/v1/payment_intents", shop.secret, intentForm, "metadata[note]"),
                ("/v1/payment_intents", shop.secret, intentForm, "receipt_email"),
                ("/v1/payment_methods", shop.publishable, cardForm(), "billing_details[name]"),
                ("/v1/payment_methods", shop.publishable, cardForm(), "metadata[order]"),
                ("/v1/checkout/sessions", shop.secret, checkout, "client_reference_id"),
                ("/v1/checkout/sessions", shop.secret, checkout, "customer_email"),
                ("/v1/checkout/sessions", shop.secret, checkout, "metadata[x]"),
                ("/v1/checkout/sessions", shop.secret, checkout, "payment_intent_data[description]"),
                ("/v1/webhook_endpoints", shop.secret, [("url", "https://shop.example/hook"), ("enabled_events[]", "*")], "description"),
                ("/v1/checkout/sessions", shop.secret, Array(checkout.dropLast()), "line_items[0][price_data][product_data][name]"),
            ]
            try await test.api { api in
                for (path, key, form, parameter) in cases {
                    for number in Self.pasted {
                        let reply = try await api.post(path, key: key, form: form + [(parameter, number)])
                        #expect(reply.status == 400, "\(path) \(parameter): \(reply.text)")
                        #expect(reply.error["code"] as? String == "card_number_in_free_text", "\(path) \(parameter)")
                        #expect(reply.error["param"] as? String == parameter)
                        #expect(!reply.text.contains(number) && !reply.text.contains(number.filter(\.isNumber)), "the refusal never echoes the number")
                    }
                }
                // A number as a metadata key, and in the Idempotency-Key header.
                let asKey = try await api.post("/v1/payment_intents", key: shop.secret, form: intentForm + [("metadata[4242424242424242]", "x")])
                #expect(asKey.status == 400 && !asKey.text.contains("4242424242424242"))
                let header = try await api.post("/v1/payment_intents", key: shop.secret, form: intentForm, headers: ["Idempotency-Key": "3566002020360505"])
                #expect(header.status == 400 && header.error["param"] as? String == "Idempotency-Key")
                // A number as a parameter name in a request the parser refuses (sent twice, or
                // over the name's length limit) is not repeated by the refusal.
                for raw in ["4242424242424242=a&4242424242424242=b", "amount=1000&currency=jpy&" + String(repeating: "x", count: 120) + "4242424242424242=a"] {
                    let refused = try await api.post("/v1/payment_intents", key: shop.secret, raw: raw)
                    #expect(refused.status == 400 && !refused.text.contains("4242424242424242"), "\(refused.text)")
                }
                let queried = try await api.get("/v1/payment_intents?5555555555554444=1&5555555555554444=2", key: shop.secret)
                #expect(queried.status == 400 && !queried.text.contains("5555555555554444"))
                // The number where it belongs is accepted.
                #expect(try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm()).status == 200)
            }
            #expect(try await test.count("payment_intents") == 0)
            // A UUID whose hex groups hold a Luhn-valid digit run (the Stripe libraries send random
            // UUIDs) is an ordinary Idempotency-Key: it is kept only as its HMAC.
            try await test.api { api in
                let uuid = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")],
                    headers: ["Idempotency-Key": "c3a5e1f0-4242-4242-4242-424242424242"])
                #expect(uuid.status == 200, "\(uuid.text)")
            }
            #expect(try await test.count("checkout_sessions") == 0)
            #expect(try await test.count("webhook_endpoints") == 0)
            #expect(try await test.count("payment_methods") == 1)
            let events = try await test.gateway.database.withConnection { db in
                try await db.select().column("detail").from("security_events").where("kind", .equal, "card_number_refused").all()
                    .map { try $0.decode(column: "detail", as: String.self) }
            }
            #expect(!events.isEmpty && events.allSatisfy { !$0.contains("4242424242424242") })
            if backend == .sqlite {
                // Nothing of it in the database files, the WAL included, nor in the logs.
                for name in try FileManager.default.contentsOfDirectory(atPath: test.directory) {
                    let data = try Data(contentsOf: URL(fileURLWithPath: test.directory + "/" + name))
                    for card in ["5555555555554444", "3566002020360505", "378282246310005"] {
                        #expect(data.range(of: Data(card.utf8)) == nil, "\(card) in \(name)")
                    }
                }
            }
            let logs = test.logs.all.joined(separator: "\n")
            #expect(!logs.contains("5555 5555 5555 4444") && !logs.contains("3566002020360505"))
        }
    }

    @Test("a negative amount is refused with the range it must be in")
    func negativeAmount() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let reply = try await api.post("/v1/payment_intents", key: shop.secret, form: [("amount", "-500"), ("currency", "jpy")])
                #expect(reply.status == 400 && reply.error["param"] as? String == "amount")
                let message = try #require(reply.error["message"] as? String)
                #expect(message.contains("50") && message.contains("99999999") && message.contains("negative"), "\(message)")
            }
        }
    }
}
