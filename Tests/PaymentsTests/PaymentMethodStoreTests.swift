import Foundation
import KessaiCore
import KessaiTestSupport
import Payments
import Testing
import Vault

@Suite("Payment methods: the card and what shows it are written together, or not at all")
struct PaymentMethodStoreTests {
    func request(_ card: TestCards.Card = TestCards.visa, metadata: [String: String] = [:]) throws -> CardTokenization {
        let pan = try PAN(card.number)
        return CardTokenization(
            pan: pan, expiry: try CardExpiry(month: 12, year: 2030, now: .testNow),
            securityCode: try SecurityCode(card.cvc, brand: pan.brand),
            billingDetails: BillingDetails(name: "Hanako Sato", email: "hanako@example.jp"), metadata: metadata)
    }

    @Test("tokenize stores one vault row and one payment method with the merchant's fingerprint of it", arguments: TestBackend.available)
    func tokenize(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let store = test.gateway.paymentMethods
            let method = try await store.tokenize(try request(metadata: ["order": "1"]), merchant: shop.id, livemode: false, context: .test)
            #expect(method.card.last4 == "4242")
            #expect(method.card.cvcCheck == .unchecked)
            #expect(method.card.fingerprint == (try test.gateway.vault.fingerprint(of: PAN(TestCards.visa.number), merchant: shop.id)))
            let read = try await store.retrieve(method.id, merchant: shop.id)
            #expect(read == method)
            #expect(read?.metadata == ["order": "1"])
            #expect(read?.billingDetails.email == "hanako@example.jp")
            #expect(try await test.count("vault_cards") == 1)
            #expect(try await test.count("payment_methods") == 1)
            #expect(try await store.retrieve(method.id, merchant: .random()) == nil)
        }
    }

    @Test("when the write fails nothing is left: no vault row, no payment method, no held code", arguments: TestBackend.available)
    func atomic(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            // A merchant that does not exist violates the foreign keys inside the write.
            let ghost = MerchantID.random()
            await #expect(throws: (any Error).self) {
                _ = try await test.gateway.paymentMethods.tokenize(try request(), merchant: ghost, livemode: false, context: .test)
            }
            #expect(try await test.count("vault_cards") == 0)
            #expect(try await test.count("payment_methods") == 0)
            let store = try #require(test.gateway.vault.securityCodes as? InMemorySecurityCodeStore)
            #expect(await store.count == 0)
        }
    }

    @Test("a held security code is consumed once, by the merchant that tokenized", arguments: TestBackend.available)
    func consume(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await test.gateway.paymentMethods.tokenize(try request(TestCards.amex), merchant: shop.id, livemode: false, context: .test)
            let vault = test.gateway.vault
            #expect(try await vault.consumeSecurityCode(token: method.id, merchant: .random(), context: .test) == nil)
            let again = try await test.gateway.paymentMethods.tokenize(try request(TestCards.amex), merchant: shop.id, livemode: false, context: .test)
            let code = try await vault.consumeSecurityCode(token: again.id, merchant: shop.id, context: .test)
            #expect(code == (try SecurityCode(TestCards.amex.cvc, brand: .amex)))
            #expect(try await vault.consumeSecurityCode(token: again.id, merchant: shop.id, context: .test) == nil)
        }
    }
}
