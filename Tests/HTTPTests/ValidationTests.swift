import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Testing

/// One bad request and the answer it must get.
struct BadInput: Sendable, CustomStringConvertible {
    let name: String
    let form: [(String, String)]
    let status: Int
    let type: String
    let code: String?
    let param: String?

    var description: String { name }

    static func card(_ name: String, _ overrides: [String: String?], _ status: Int, _ type: String, _ code: String?, _ param: String?) -> BadInput {
        BadInput(name: name, form: cardForm(replacing: overrides), status: status, type: type, code: code, param: param)
    }

    static let all: [BadInput] = [
        .card("bad Luhn", ["card[number]": "4242424242424241"], 402, "card_error", "incorrect_number", "card[number]"),
        .card("too short", ["card[number]": "424242"], 402, "card_error", "incorrect_number", "card[number]"),
        .card("too long", ["card[number]": "42424242424242424242"], 402, "card_error", "incorrect_number", "card[number]"),
        .card("letters", ["card[number]": "4242abcd42424242"], 402, "card_error", "incorrect_number", "card[number]"),
        .card("amex length", ["card[number]": "3782822463100051"], 402, "card_error", "incorrect_number", "card[number]"),
        .card("month 13", ["card[exp_month]": "13"], 402, "card_error", "invalid_expiry_month", "card[exp_month]"),
        .card("month 0", ["card[exp_month]": "0"], 402, "card_error", "invalid_expiry_month", "card[exp_month]"),
        .card("past year", ["card[exp_year]": "2020"], 402, "card_error", "invalid_expiry_year", "card[exp_year]"),
        .card("far year", ["card[exp_year]": "2099"], 402, "card_error", "invalid_expiry_year", "card[exp_year]"),
        .card("past month this year", ["card[exp_month]": "1", "card[exp_year]": "2026"], 402, "card_error", "invalid_expiry_month", "card[exp_month]"),
        .card("month not a number", ["card[exp_month]": "twelve"], 400, "invalid_request_error", "parameter_invalid_integer", "card[exp_month]"),
        .card("month negative", ["card[exp_month]": "-1"], 400, "invalid_request_error", "parameter_invalid_integer", "card[exp_month]"),
        .card("year huge", ["card[exp_year]": "99999999999999999999"], 400, "invalid_request_error", "parameter_invalid_integer", "card[exp_year]"),
        .card("year decimal", ["card[exp_year]": "2030.5"], 400, "invalid_request_error", "parameter_invalid_integer", "card[exp_year]"),
        .card("cvc short", ["card[cvc]": "12"], 402, "card_error", "invalid_cvc", "card[cvc]"),
        .card("cvc letters", ["card[cvc]": "1a3"], 402, "card_error", "invalid_cvc", "card[cvc]"),
        .card("cvc four for visa", ["card[cvc]": "1234"], 402, "card_error", "invalid_cvc", "card[cvc]"),
        BadInput(
            name: "cvc three for amex", form: cardForm(TestCards.amex, replacing: ["card[cvc]": "123"]), status: 402, type: "card_error", code: "invalid_cvc",
            param: "card[cvc]"),
        .card("no type", ["type": nil], 400, "invalid_request_error", "parameter_missing", "type"),
        .card("other type", ["type": "konbini"], 400, "invalid_request_error", "parameter_invalid", "type"),
        .card("no number", ["card[number]": nil], 400, "invalid_request_error", "parameter_missing", "card[number]"),
        .card("no month", ["card[exp_month]": nil], 400, "invalid_request_error", "parameter_missing", "card[exp_month]"),
        .card("no year", ["card[exp_year]": nil], 400, "invalid_request_error", "parameter_missing", "card[exp_year]"),
        BadInput(name: "no card", form: [("type", "card")], status: 400, type: "invalid_request_error", code: "parameter_missing", param: "card"),
        .card("unknown parameter", ["amount": "100"], 400, "invalid_request_error", "parameter_unknown", "amount"),
        .card("unknown card field", ["card[pin]": "0000"], 400, "invalid_request_error", "parameter_unknown", "card[pin]"),
        .card("card as string", ["card": "4242"], 400, "invalid_request_error", "parameter_invalid", "card"),
        .card(
            "name too long", ["billing_details[name]": String(repeating: "あ", count: 201)], 400, "invalid_request_error", "parameter_invalid",
            "billing_details[name]"),
        .card("name with control", ["billing_details[name]": "Taro\u{0}"], 400, "invalid_request_error", "parameter_invalid", "billing_details[name]"),
        .card("bad email", ["billing_details[email]": "not-an-email"], 400, "invalid_request_error", "email_invalid", "billing_details[email]"),
        .card("bad phone", ["billing_details[phone]": "call me"], 400, "invalid_request_error", "parameter_invalid", "billing_details[phone]"),
        .card(
            "bad country", ["billing_details[address][country]": "JPN"], 400, "invalid_request_error", "parameter_invalid", "billing_details[address][country]"),
        .card("unknown billing field", ["billing_details[ssn]": "1"], 400, "invalid_request_error", "parameter_unknown", "billing_details[ssn]"),
        .card(
            "metadata key too long", ["metadata[\(String(repeating: "k", count: 41))]": "v"], 400, "invalid_request_error", "parameter_invalid",
            "metadata[\(String(repeating: "k", count: 41))]"),
        .card("metadata value too long", ["metadata[k]": String(repeating: "v", count: 501)], 400, "invalid_request_error", "parameter_invalid", "metadata[k]"),
        .card("metadata nested", ["metadata[a][b]": "v"], 400, "invalid_request_error", "parameter_invalid", "metadata[a]"),
        BadInput(
            name: "too many metadata keys", form: cardForm() + (0..<51).map { ("metadata[k\($0)]", "v") }, status: 400, type: "invalid_request_error",
            code: "parameter_invalid", param: "metadata"),
        BadInput(
            name: "duplicate parameter", form: cardForm() + [("card[number]", "5555555555554444")], status: 400, type: "invalid_request_error",
            code: "parameter_invalid", param: "card[number]"),
        BadInput(
            name: "too many parameters", form: cardForm() + (0..<300).map { ("metadata[k\($0)]", "v") }, status: 400, type: "invalid_request_error",
            code: "parameter_invalid", param: "body"),
        BadInput(
            name: "nested too deep", form: cardForm() + [("metadata[a][b][c][d][e][f]", "v")], status: 400, type: "invalid_request_error",
            code: "parameter_invalid", param: "metadata[a][b][c][d][e][f]"),
    ]
}

@Suite("Bad input: a clear 4xx in Stripe's shape, nothing written, never a 5xx")
struct ValidationTests {
    @Test("each bad field gets its own code and param", arguments: BadInput.all)
    func badInput(input: BadInput) async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let reply = try await api.post("/v1/payment_methods", key: shop.publishable, form: input.form)
                #expect(reply.status == input.status, "\(input.name): \(reply.text)")
                #expect(reply.error["type"] as? String == input.type, "\(input.name)")
                #expect(reply.error["code"] as? String == input.code, "\(input.name): \(reply.text)")
                #expect(reply.error["param"] as? String == input.param, "\(input.name): \(reply.text)")
                #expect((reply.error["message"] as? String)?.isEmpty == false)
                for card in TestCards.all {
                    #expect(!reply.text.contains(card.number))
                }
            }
            #expect(try await test.count("payment_methods") == 0)
            #expect(try await test.count("vault_cards") == 0)
        }
    }

    @Test("malformed bodies, oversized bodies and the wrong content type", arguments: TestBackend.available)
    func malformed(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let big = try await api.post(
                    "/v1/payment_methods", key: shop.publishable, raw: "type=card&metadata[x]=" + String(repeating: "a", count: 40_000))
                #expect(big.status == 413)
                #expect(big.error["code"] as? String == "request_too_large")
                let json = try await api.post("/v1/payment_methods", key: shop.publishable, raw: #"{"type":"card"}"#, contentType: "application/json")
                #expect(json.status == 415)
                #expect(json.error["type"] as? String == "invalid_request_error")
                for raw in [
                    "type=card&card[number]=%ZZ", "type=card&card[number=1", "type=card&card]number[=1", "%ff%fe=1", "type=card&[x]=1", "&&&",
                    "type=card&card[number]=%E3%81",
                ] {
                    let reply = try await api.post("/v1/payment_methods", key: shop.publishable, raw: raw)
                    #expect((400..<500).contains(reply.status), "\(raw): \(reply.status) \(reply.text)")
                    #expect(reply.error["type"] as? String == "invalid_request_error", "\(raw)")
                }
                let unknownRoute = try await api.get("/v1/nothing", key: shop.secret)
                #expect(unknownRoute.status == 404)
                #expect(unknownRoute.error["type"] as? String == "invalid_request_error")
                let unknownQuery = try await api.get("/v1/payment_methods/pm_abc?foo=1", key: shop.secret)
                #expect(unknownQuery.status == 400)
                #expect(unknownQuery.error["code"] as? String == "parameter_unknown")
            }
            #expect(try await test.count("payment_methods") == 0)
        }
    }

    @Test("random bytes never produce a 5xx")
    func fuzz() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            let alphabet = Array("type=card&[]%0123456789abcdefXYZ+=&card[number]card[exp_month]metadata[x]\u{00}\u{ff}é".utf8)
            try await test.api { api in
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<300 {
                    let length = Int(generator.next(upperBound: UInt64(120)))
                    let bytes = (0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
                    let raw = String(decoding: bytes, as: UTF8.self)
                    let reply = try await api.post("/v1/payment_methods", key: shop.publishable, raw: raw)
                    #expect(reply.status < 500, "\(raw.debugDescription) → \(reply.status) \(reply.text)")
                }
            }
        }
    }

    @Test("random payment requests never produce a 5xx, and every answer has the error shape or an object")
    func fuzzPayments() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            let pieces = [
                "amount=", "1000", "0", "-1", "99999999999", "currency=", "jpy", "usd", "xx", "&", "&", "confirm=", "true", "capture_method=",
                "manual", "payment_method=", "pm_", "metadata[", "]", "=", "%", "%ZZ", "amount_to_capture=", "cancellation_reason=", "abandoned",
                "payment_method_types[]=", "card", "return_url=", "https://x.example/r", "\u{00}", "é", "[", "expand[]=",
            ]
            try await test.api { api in
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm()).json["id"] as? String ?? "pm_x"
                let created = try await api.post(
                    "/v1/payment_intents", key: shop.secret,
                    form: [("amount", "1000"), ("currency", "jpy"), ("payment_method", method), ("capture_method", "manual")])
                let intent = created.json["id"] as? String ?? "pi_x"
                let paths = [
                    "/v1/payment_intents", "/v1/payment_intents/\(intent)", "/v1/payment_intents/\(intent)/confirm", "/v1/payment_intents/\(intent)/capture",
                    "/v1/payment_intents/\(intent)/cancel", "/v1/refunds", "/v1/webhook_endpoints",
                ]
                var generator = SystemRandomNumberGenerator()
                for round in 0..<400 {
                    let count = Int(generator.next(upperBound: UInt64(10)))
                    let raw = (0..<count).map { _ in pieces[Int(generator.next(upperBound: UInt64(pieces.count)))] }.joined()
                        .replacingOccurrences(of: "pm_", with: round % 3 == 0 ? method : "pm_")
                    let path = paths[Int(generator.next(upperBound: UInt64(paths.count)))]
                    let reply = try await api.post(path, key: shop.secret, raw: raw)
                    #expect(reply.status < 500, "\(path) \(raw.debugDescription) → \(reply.status) \(reply.text)")
                    #expect(reply.status == 200 ? reply.json["object"] != nil : reply.error["type"] != nil, "\(path) \(raw.debugDescription) → \(reply.text)")
                }
            }
        }
    }
}
