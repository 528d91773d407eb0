import KessaiTestSupport
import Testing

@Suite("automatic_payment_methods: every value the document names, and nothing else")
struct AutomaticPaymentMethodsTests {
    @Test("allow_redirects is always or never, even with enabled=false (found by schemathesis)")
    func allowRedirects() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let base = [("amount", "1000"), ("currency", "jpy"), ("automatic_payment_methods[enabled]", "false")]
                for bad in ["\u{23C40}", "sometimes", ""] {
                    let reply = try await api.post("/v1/payment_intents", key: shop.secret, form: base + [("automatic_payment_methods[allow_redirects]", bad)])
                    #expect(reply.status == 400, "\(bad)")
                    #expect(reply.error["param"] as? String == "automatic_payment_methods[allow_redirects]")
                }
                for good in ["always", "never"] {
                    let reply = try await api.post("/v1/payment_intents", key: shop.secret, form: base + [("automatic_payment_methods[allow_redirects]", good)])
                    #expect(reply.status == 200, "\(good): \(reply.text)")
                }
            }
            #expect(try await test.count("payment_intents") == 2)
        }
    }
}
