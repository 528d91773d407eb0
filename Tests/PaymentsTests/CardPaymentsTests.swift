import Acquiring
import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Testing
import Vault

@testable import Payments

@Suite("Card payments: the card is read through the ledger, the code is used once, and a crash never charges twice")
struct CardPaymentsTests {
    func tokenize(_ test: TestGateway, merchant: MerchantID, number: String = TestCards.visa.number, cvc: String? = "123") async throws -> PaymentMethodID {
        let pan = try PAN(number)
        let request = CardTokenization(
            pan: pan, expiry: try CardExpiry(month: 12, year: 2031, now: .testNow), securityCode: try cvc.map { try SecurityCode($0, brand: pan.brand) },
            billingDetails: BillingDetails(), metadata: [:])
        return try await test.gateway.paymentMethods.tokenize(request, merchant: merchant, livemode: false, context: .test).id
    }

    func newIntent(_ test: TestGateway, merchant: MerchantID, method: PaymentMethodID, amount: Int64 = 1500, manual: Bool = false) async throws -> PaymentIntent
    {
        var new = CardPayments.NewIntent(amount: amount, currency: .jpy)
        new.paymentMethod = method
        new.captureMethod = manual ? .manual : .automatic
        return try await test.gateway.payments.create(new, merchant: merchant, livemode: false)
    }

    /// What a confirmation writes before it calls the acquirer: the intent `processing` on a
    /// pending attempt. The test then plays the crash.
    func claimWithAttempt(_ test: TestGateway, _ intent: PaymentIntent) async throws -> AttemptID {
        let attempt = AttemptID.random()
        var claimed = intent
        try claimed.move(to: .processing)
        claimed.attemptID = attempt
        let row = claimed
        try await test.gateway.database.transaction { db in
            try await CardPayments.insertAttempt(attempt, intent: row, operation: "authorize", amount: row.amount, refund: nil, now: test.clock.now(), on: db)
            try await CardPayments.save(row, on: db)
        }
        return attempt
    }

    func approvedOperations(_ test: TestGateway, intent: PaymentIntentID) async throws -> Int {
        try await test.gateway.database.withConnection { db in
            let attempts = try await db.select().column("id").from("acquirer_attempts").where("payment_intent_id", .equal, intent.rawValue).all()
                .map { try $0.decode(column: "id", as: String.self) }
            guard !attempts.isEmpty else { return 0 }
            return try await db.select().column("attempt_id").from("test_acquirer_operations").where("attempt_id", .in, attempts)
                .where("approved", .equal, 1).all().count
        }
    }

    @Test("confirming decrypts the card with a ledger entry for the authorization and consumes the security code", arguments: TestBackend.available)
    func confirmIsRecorded(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id)
            let intent = try await newIntent(test, merchant: shop.id, method: method)
            let paid = try await test.gateway.payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            #expect(paid.status == .succeeded && paid.amountReceived == 1500)
            let chargeID = try #require(paid.latestCharge)
            let charge = try #require(try await test.gateway.payments.charge(chargeID, merchant: shop.id))
            #expect(charge.cvcCheck == "pass" && charge.captured && charge.acquirerReference?.hasPrefix("ta_") == true)
            try await test.gateway.ledger.sequenceAll()
            let entries = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry)
            #expect(entries.contains { $0.action == "vault.decrypt" && $0.purpose == "authorization" && $0.objects["token"] == method.rawValue })
            #expect(entries.contains { $0.action == "vault.cvc_consumed" && $0.objects["token"] == method.rawValue })
            // The code is gone: nothing is left to consume.
            #expect(try await test.gateway.vault.consumeSecurityCode(token: method, merchant: shop.id, context: .test) == nil)

            // confirm=true claims a new intent in one write batch: the read's entry is in it.
            let second = try await tokenize(test, merchant: shop.id)
            var new = CardPayments.NewIntent(amount: 2500, currency: .jpy)
            new.paymentMethod = second
            let created = try await test.gateway.payments.createAndConfirm(new, merchant: shop.id, livemode: false, .init(), context: .test)
            let stored = try #require(try await test.gateway.payments.retrieve(created.id, merchant: shop.id))
            #expect(created.status == .succeeded && stored.status == .succeeded && stored.amountReceived == 2500)
            try await test.gateway.ledger.sequenceAll()
            let after = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry)
            #expect(after.contains { $0.action == "vault.decrypt" && $0.purpose == "authorization" && $0.objects["token"] == second.rawValue })
        }
    }

    @Test("a decline returns the intent to requires_payment_method; the code is spent by that first authorization", arguments: TestBackend.available)
    func declineSpendsTheCode(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id, number: "4000000000000002")
            let intent = try await newIntent(test, merchant: shop.id, method: method)
            await #expect(throws: PaymentDeclined.self) {
                _ = try await test.gateway.payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            }
            let after = try #require(try await test.gateway.payments.retrieve(intent.id, merchant: shop.id))
            #expect(after.status == .requiresPaymentMethod && after.paymentMethod == nil)
            #expect(after.lastPaymentError?.declineCode == "generic_decline")
            #expect(try await test.gateway.vault.consumeSecurityCode(token: method, merchant: shop.id, context: .test) == nil)
            // The decline is in the ledger for the sentinel's card-testing rules.
            try await test.gateway.ledger.sequenceAll()
            let declines = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: Int64.max)).filter { $0.entry.action == "card.declined" }
            #expect(declines.count == 1)
            #expect(
                declines.first?.entry.objects == [
                    "merchant": shop.id.rawValue, "payment_intent": intent.id.rawValue, "code": "card_declined", "decline_code": "generic_decline",
                ])
        }
    }

    @Test(
        "an authorization the acquirer approved but Kessai never settled (a crash) is settled once, from the acquirer's books", arguments: TestBackend.available
    )
    func crashAfterTheAcquirerAnswered(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id, cvc: nil)
            let intent = try await newIntent(test, merchant: shop.id, method: method)
            let payments = test.gateway.payments
            // What confirm does up to the acquirer's answer, and then the process dies.
            let attempt = try await claimWithAttempt(test, intent)
            let card = CardDetails(pan: try PAN(TestCards.visa.number), expMonth: 12, expYear: 2031, securityCode: nil)
            let answer = try await test.gateway.acquirer.authorize(
                AuthorizationRequest(
                    attempt: attempt, merchant: shop.id, amount: Money(minorUnits: 1500, currency: .jpy), card: card, authentication: .frictionless,
                    capture: true))
            guard case .approved = answer else { Issue.record("the test card should be approved"); return }
            // Too young to settle: another process may still be waiting for the answer.
            #expect(try await payments.reconcile(olderThan: 30) == 0)
            test.clock.advance(by: 31)
            #expect(try await payments.reconcile(olderThan: 30) == 1)
            let settled = try #require(try await payments.retrieve(intent.id, merchant: shop.id))
            #expect(settled.status == .succeeded && settled.amountReceived == 1500 && settled.latestCharge != nil)
            // Settling again, by a late answer or another process, changes nothing.
            _ = try await payments.settleAuthorization(attempt, outcome: answer, intent: intent.id, merchant: shop.id)
            #expect(try await payments.reconcile(olderThan: 30) == 0)
            #expect(try await test.count("charges") == 1)
            // A replayed confirm does not authorize again.
            await #expect(throws: PaymentsError.self) {
                _ = try await payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            }
            #expect(try await approvedOperations(test, intent: intent.id) == 1)
        }
    }

    @Test("an attempt that never reached the acquirer is released without a charge, and the intent can be confirmed again", arguments: TestBackend.available)
    func crashBeforeTheAcquirer(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id, cvc: nil)
            let intent = try await newIntent(test, merchant: shop.id, method: method)
            _ = try await claimWithAttempt(test, intent)
            test.clock.advance(by: 31)
            #expect(try await test.gateway.payments.reconcile(olderThan: 30) == 1)
            let released = try #require(try await test.gateway.payments.retrieve(intent.id, merchant: shop.id))
            #expect(released.status == .requiresConfirmation && released.lastPaymentError?.code == "processing_error")
            #expect(try await test.count("charges") == 0)
            let paid = try await test.gateway.payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            #expect(paid.status == .succeeded)
            #expect(try await approvedOperations(test, intent: intent.id) == 1)
        }
    }

    @Test(
        "a card that cannot be decrypted after the claim fails the unsent attempt and releases the intent at once; confirm=true that fails before leaves nothing",
        arguments: TestBackend.available)
    func unreadableCardReleasesTheClaim(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id, cvc: nil)
            let intent = try await newIntent(test, merchant: shop.id, method: method)
            // One changed byte: the ciphertext no longer opens (the read itself still succeeds).
            try await test.gateway.database.withConnection { db in
                let row = try #require(try await db.select().column("ciphertext").from("vault_cards").where("token", .equal, method.rawValue).first())
                var ciphertext = try row.decode(column: "ciphertext", as: Data.self)
                ciphertext[ciphertext.startIndex + 20] ^= 0x01
                try await db.update("vault_cards").set("ciphertext", to: SQLBind(ciphertext)).where("token", .equal, method.rawValue).run()
            }
            await #expect(throws: VaultError.self) {
                _ = try await test.gateway.payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            }
            let released = try #require(try await test.gateway.payments.retrieve(intent.id, merchant: shop.id))
            #expect(released.status == .requiresConfirmation && released.attemptID == nil)
            let states = try await test.gateway.database.withConnection { db in
                try await db.select().column("state").from("acquirer_attempts").where("payment_intent_id", .equal, intent.id.rawValue).all()
                    .map { try $0.decode(column: "state", as: String.self) }
            }
            #expect(states == ["failed"])
            #expect(try await approvedOperations(test, intent: intent.id) == 0)
            #expect(try await test.count("test_acquirer_operations") == 0)

            // Create and confirm with another merchant's card: refused, and no intent, attempt or event is left.
            let other = try await test.merchant("Other Shop")
            let foreign = try await tokenize(test, merchant: other.id)
            let (intents, attempts, events) = (
                try await test.count("payment_intents"), try await test.count("acquirer_attempts"), try await test.count("events")
            )
            var new = CardPayments.NewIntent(amount: 1500, currency: .jpy)
            new.paymentMethod = foreign
            await #expect(throws: PaymentsError.self) {
                _ = try await test.gateway.payments.createAndConfirm(new, merchant: shop.id, livemode: false, .init(), context: .test)
            }
            #expect(try await test.count("payment_intents") == intents)
            #expect(try await test.count("acquirer_attempts") == attempts)
            #expect(try await test.count("events") == events)
        }
    }

    @Test("captures, partial refunds and voids keep the amounts straight; a second capture or an over-refund is refused", arguments: TestBackend.available)
    func amounts(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let payments = test.gateway.payments
            let intent = try await newIntent(test, merchant: shop.id, method: try await tokenize(test, merchant: shop.id), amount: 10_000, manual: true)
            let authorized = try await payments.confirm(intent.id, merchant: shop.id, .init(), context: .test)
            #expect(authorized.status == .requiresCapture && authorized.amountCapturable == 10_000)
            await #expect(throws: PaymentsError.self) { _ = try await payments.capture(intent.id, merchant: shop.id, amount: 10_001) }
            let captured = try await payments.capture(intent.id, merchant: shop.id, amount: 6_000)
            #expect(captured.status == .succeeded && captured.amountReceived == 6_000 && captured.amountCapturable == 0)
            await #expect(throws: PaymentsError.self) { _ = try await payments.capture(intent.id, merchant: shop.id, amount: 1) }
            var refund = CardPayments.NewRefund(paymentIntent: intent.id)
            refund.amount = 2_500
            #expect(try await payments.refund(refund, merchant: shop.id).status == .succeeded)
            #expect(try await payments.refund(refund, merchant: shop.id).status == .succeeded)
            await #expect(throws: PaymentsError.self) { _ = try await payments.refund(refund, merchant: shop.id) }
            refund.amount = 1_000
            #expect(try await payments.refund(refund, merchant: shop.id).status == .succeeded)
            let after = try #require(try await payments.retrieve(intent.id, merchant: shop.id))
            #expect(after.amountRefunded == 6_000)
            let chargeID = try #require(after.latestCharge)
            let charge = try #require(try await payments.charge(chargeID, merchant: shop.id))
            #expect(charge.amountCaptured == 6_000 && charge.amountRefunded == 6_000)

            let other = try await newIntent(test, merchant: shop.id, method: try await tokenize(test, merchant: shop.id), manual: true)
            _ = try await payments.confirm(other.id, merchant: shop.id, .init(), context: .test)
            let voided = try await payments.cancel(other.id, merchant: shop.id, reason: .requestedByCustomer)
            #expect(voided.status == .canceled && voided.amountCapturable == 0 && voided.cancellationReason == .requestedByCustomer)
            let voidedCharge = try #require(voided.latestCharge)
            let reference = try #require(try await payments.charge(voidedCharge, merchant: shop.id)?.acquirerReference)
            let books = try await test.gateway.acquirer.books(reference: reference)
            #expect(books.voided && books.captured == 0)
            // Another merchant sees none of it.
            let stranger = try await test.merchant("Stranger")
            #expect(try await payments.retrieve(intent.id, merchant: stranger.id) == nil)
            await #expect(throws: PaymentsError.self) { _ = try await payments.cancel(intent.id, merchant: stranger.id, reason: nil) }
        }
    }

    @Test(
        "an answer settles in one guarded write; an intent updated while the acquirer answered settles under its lock, once, and its event shows it as stored",
        arguments: TestBackend.available)
    func settleGuard(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let method = try await tokenize(test, merchant: shop.id, cvc: nil)
            let payments = test.gateway.payments
            func claimed(_ intent: PaymentIntent) async throws -> (AttemptID, PaymentIntent) {
                let attempt = try await claimWithAttempt(test, intent)
                var claimed = intent
                try claimed.move(to: .processing)
                claimed.attemptID = attempt
                return (attempt, claimed)
            }
            func attemptState(_ attempt: AttemptID) async throws -> String? {
                try await test.gateway.database.withConnection { db in
                    try await db.select().column("state").from("acquirer_attempts").where("id", .equal, attempt.rawValue).first()?
                        .decode(column: "state", as: String.self)
                }
            }
            let approved = AuthorizationOutcome.approved(reference: "ta_test", captured: true, cvc: .unchecked)
            // Every write of the settlement depends on its guard (and the final count reads it).
            let settleText = CardStatements.AuthorizationSettle.text
            #expect(settleText.components(separatedBy: "FROM g").count - 1 == CardStatements.AuthorizationSettle.parts.count + 1)

            // Unchanged: the guarded write settles it, and the stored intent is what it returns.
            let first = try await newIntent(test, merchant: shop.id, method: method)
            let (attempt, claim) = try await claimed(first)
            let settled = try await payments.settleAuthorization(attempt, outcome: approved, claimed: claim)
            let stored = try #require(try await payments.retrieve(first.id, merchant: shop.id))
            #expect(settled.status == .succeeded && stored.status == .succeeded && stored.amountReceived == 1500 && stored.attemptID == nil)
            #expect(stored.latestCharge == settled.latestCharge && stored.latestCharge != nil)
            #expect(try await attemptState(attempt) == "succeeded")

            // Updated while the acquirer answered: the guard does not match; the locked path
            // settles it with the update kept, and the event shows the update.
            let second = try await newIntent(test, merchant: shop.id, method: method)
            let (secondAttempt, secondClaim) = try await claimed(second)
            var update = CardPayments.IntentUpdate()
            update.metadata = ["order": "A-42"]
            _ = try await payments.update(second.id, merchant: shop.id, update)
            let late = try await payments.settleAuthorization(secondAttempt, outcome: approved, claimed: secondClaim)
            #expect(late.status == .succeeded && late.metadata == ["order": "A-42"])
            #expect(try await payments.retrieve(second.id, merchant: shop.id)?.metadata == ["order": "A-42"])
            let eventData = try await test.gateway.database.withConnection { db in
                try await db.select().column("data").from("events").where("object_id", .equal, second.id.rawValue)
                    .where("type", .equal, "payment_intent.succeeded").all().map { try $0.decode(column: "data", as: String.self) }
            }
            #expect(eventData.count == 1 && eventData.first?.contains("A-42") == true)

            // A second answer for either attempt changes nothing.
            _ = try await payments.settleAuthorization(attempt, outcome: approved, claimed: claim)
            _ = try await payments.settleAuthorization(secondAttempt, outcome: approved, claimed: secondClaim)
            #expect(try await test.count("charges") == 2)

            // A decline through the guarded write: back to requires_payment_method, one failed charge.
            let third = try await newIntent(test, merchant: shop.id, method: method)
            let (thirdAttempt, thirdClaim) = try await claimed(third)
            let declined = try await payments.settleAuthorization(
                thirdAttempt, outcome: .declined(Decline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined.")),
                claimed: thirdClaim)
            let storedDecline = try #require(try await payments.retrieve(third.id, merchant: shop.id))
            #expect(declined.status == .requiresPaymentMethod && storedDecline.status == .requiresPaymentMethod)
            #expect(storedDecline.paymentMethod == nil && storedDecline.lastPaymentError?.declineCode == "generic_decline")
            #expect(try await attemptState(thirdAttempt) == "failed")
            #expect(try await test.count("charges") == 3)
        }
    }

}
