import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Testing
import Vault

@testable import Payments
@testable import Response

@Suite("Exposure watch: an exposed card's next payment is flagged anywhere, and blocked where the merchant says so; other cards are not")
struct WatchTests {
    func tokenize(_ test: TestGateway, _ merchant: MerchantID, _ number: String, livemode: Bool = false) async throws -> PaymentMethodID {
        let pan = try PAN(number)
        let request = CardTokenization(
            pan: pan, expiry: try CardExpiry(month: 12, year: 2031, now: .testNow), securityCode: try SecurityCode("123", brand: pan.brand),
            billingDetails: BillingDetails(), metadata: [:])
        return try await test.gateway.paymentMethods.tokenize(request, merchant: merchant, livemode: livemode, context: .test).id
    }

    func pay(_ test: TestGateway, _ merchant: MerchantID, _ method: PaymentMethodID, livemode: Bool = false) async throws -> PaymentIntent {
        var new = CardPayments.NewIntent(amount: 1500, currency: .jpy)
        new.paymentMethod = method
        return try await test.gateway.payments.createAndConfirm(new, merchant: merchant, livemode: livemode, .init(), context: .test)
    }

    func events(_ test: TestGateway, _ type: String, merchant: MerchantID) async throws -> Int {
        try await test.gateway.database.withConnection { db in
            try await db.select().column("id").from("events").where("type", .equal, type).where("merchant_id", .equal, merchant.rawValue).all().count
        }
    }

    @Test(
        "listed from a verified scope; flagged at another shop; blocked unread where refused, on a new and an existing intent", arguments: TestBackend.available
    )
    func watch(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let first = try await test.merchant("Exposed Shop")
            let second = try await test.merchant("Other Shop")
            // Stored before the window and never read in it: ciphertext only.
            let storedOnly = try await tokenize(test, first.id, TestCards.all[1].number)
            test.clock.advance(by: 1)
            let start = Int64(test.clock.now().timeIntervalSince1970 * 1000)
            let exposed = try await tokenize(test, first.id, TestCards.visa.number)
            #expect(try await pay(test, first.id, exposed).status == .succeeded)
            test.clock.advance(by: 5)
            _ = try await gateway.ledger.checkpoint(signer: gateway.keySource, copyTo: nil)
            let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
            let scope = try await ExposureScope(database: gateway.database, ledger: gateway.ledger, verifier: verifier)
                .compute(ExposureScope.Query(from: start, to: start + 5_000))
            #expect(scope.exact)
            let exposedShop = try #require(scope.merchants.first { $0.merchant == first.id.rawValue })
            #expect(exposedShop.readInClear.keys.sorted() == [exposed.rawValue] && exposedShop.ciphertextOnly == 1)
            #expect(exposedShop.securityCodesInReach == [storedOnly.rawValue, exposed.rawValue], "one still held when the window began, one tokenized in it")
            let list = WatchList(database: gateway.database, ledger: gateway.ledger, clock: test.clock)
            #expect(try await list.add(scope, incident: "inc_test", actor: LedgerActor(.operator, "usr_sec")) == .init(added: 1, alreadyListed: 0))
            #expect(try await list.add(scope, incident: "inc_test", actor: LedgerActor(.operator, "usr_sec")) == .init(added: 0, alreadyListed: 1))
            #expect(try await list.count() == 1)

            // The same number at another shop (its own token, its own fingerprint) is flagged.
            let again = try await pay(test, second.id, try await tokenize(test, second.id, TestCards.visa.number))
            #expect(again.status == .succeeded)
            #expect(again.watch == CardWatch(incident: "inc_test", listedAt: test.clock.now().unixSeconds, action: .flagged))
            let againCharge = try #require(again.latestCharge)
            let charge = try #require(try await gateway.payments.charge(againCharge, merchant: second.id))
            #expect(charge.watch?.action == .flagged && charge.status == "succeeded")
            #expect(try await events(test, "payment_intent.card_watch_matched", merchant: second.id) == 1)
            // An exposure in test mode watches test payments only: the same number live is not flagged.
            let live = try await pay(test, second.id, try await tokenize(test, second.id, TestCards.visa.number, livemode: true), livemode: true)
            #expect(live.status == .succeeded && live.watch == nil)
            // A reissued card (a new number) and any other card are not.
            let fresh = try await pay(test, second.id, try await tokenize(test, second.id, TestCards.all[2].number))
            #expect(fresh.status == .succeeded && fresh.watch == nil)
            #expect(try await events(test, "payment_intent.card_watch_matched", merchant: second.id) == 1)

            // The shop refuses watched cards: blocked before the card is read, on create+confirm and on confirm.
            #expect(try await gateway.merchants.setRefusesWatchedCards(second.id, true, actor: LedgerActor(.operator, "usr_sec")))
            let blockedMethod = try await tokenize(test, second.id, TestCards.visa.number)
            await #expect(throws: PaymentDeclined.self) { _ = try await pay(test, second.id, blockedMethod) }
            let existingMethod = try await tokenize(test, second.id, TestCards.visa.number)
            var new = CardPayments.NewIntent(amount: 900, currency: .jpy)
            new.paymentMethod = existingMethod
            let waiting = try await gateway.payments.create(new, merchant: second.id, livemode: false)
            do {
                _ = try await gateway.payments.confirm(waiting.id, merchant: second.id, .init(), context: .test)
                Issue.record("a watched card was not refused")
            } catch let declined as PaymentDeclined {
                #expect(declined.error.code == "card_declined" && declined.error.declineCode == "merchant_blacklist")
                #expect(declined.intent.status == .requiresPaymentMethod && declined.intent.watch?.action == .refused)
                let blockedCharge = try #require(declined.intent.latestCharge)
                let blocked = try #require(try await gateway.payments.charge(blockedCharge, merchant: second.id))
                #expect(blocked.status == "failed" && blocked.watch?.action == .refused && blocked.acquirerReference == nil)
                let stored = try #require(try await gateway.payments.retrieve(waiting.id, merchant: second.id))
                #expect(stored.status == .requiresPaymentMethod && stored.watch?.action == .refused)
            }
            // Each blocked confirmation: one watch event and one failure event, nothing else.
            #expect(try await events(test, "payment_intent.card_watch_matched", merchant: second.id) == 3)
            #expect(try await events(test, "payment_intent.payment_failed", merchant: second.id) == 2)
            #expect(try await events(test, "payment_intent.succeeded", merchant: second.id) == 3)
            try await gateway.ledger.sequenceAll()
            let entries = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry)
            for method in [blockedMethod, existingMethod] {
                #expect(!entries.contains { $0.action == "vault.decrypt" && $0.objects["token"] == method.rawValue }, "a blocked card is never read")
            }
            #expect(entries.contains { $0.action == "cards.watched" && $0.objects["incident"] == "inc_test" && $0.objects["cards"] == "1" })
            #expect(entries.contains { $0.action == "merchant.watch_policy_changed" && $0.objects["watched_cards"] == "refuse" })
            // Nothing charged at the acquirer for the blocked payments; a fresh card still pays.
            #expect(try await pay(test, second.id, try await tokenize(test, second.id, TestCards.all[4].number)).status == .succeeded)
        }
    }
}
