import Crypto
import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Storage
import Testing

@testable import Vault

@Suite("Security codes: held in memory only, consumed once, destroyed on time")
struct SecurityCodeTests {
    let merchant = MerchantID.random()

    @Test("consumed by the first authorization; a second read finds nothing")
    func consumeOnce() async throws {
        let store = InMemorySecurityCodeStore()
        let token = PaymentMethodID.random()
        let now = Date.testNow
        #expect(await store.hold(try SecurityCode("739", brand: .visa), token: token, merchant: merchant, expiresAt: now.addingTimeInterval(600)))
        #expect(await store.isHeld(token: token, now: now))
        #expect(await store.consume(token: token, merchant: merchant, now: now)?.digits == "739")
        #expect(await store.consume(token: token, merchant: merchant, now: now) == nil)
        #expect(await store.count == 0)
    }

    @Test("another merchant cannot take it, and the attempt destroys it")
    func otherMerchant() async throws {
        let store = InMemorySecurityCodeStore()
        let token = PaymentMethodID.random()
        _ = await store.hold(try SecurityCode("739", brand: .visa), token: token, merchant: merchant, expiresAt: .testNow.addingTimeInterval(60))
        #expect(await store.consume(token: token, merchant: .random(), now: .testNow) == nil)
        #expect(await store.consume(token: token, merchant: merchant, now: .testNow) == nil)
    }

    @Test("past its time it is destroyed, by the sweep or at the moment it is asked for")
    func expiry() async throws {
        let store = InMemorySecurityCodeStore()
        let a = PaymentMethodID.random()
        let b = PaymentMethodID.random()
        _ = await store.hold(try SecurityCode("739", brand: .visa), token: a, merchant: merchant, expiresAt: .testNow.addingTimeInterval(10))
        _ = await store.hold(try SecurityCode("8214", brand: .amex), token: b, merchant: merchant, expiresAt: .testNow.addingTimeInterval(1000))
        let later = Date.testNow.addingTimeInterval(11)
        #expect(await store.destroyExpired(now: later) == [a])
        #expect(await store.consume(token: a, merchant: merchant, now: later) == nil)
        #expect(await store.consume(token: b, merchant: merchant, now: .testNow.addingTimeInterval(1001)) == nil)
        #expect(await store.count == 0)
    }

    @Test("the sweep follows expiry order, also when lifetimes differ, and skips consumed codes")
    func expiryOrder() async throws {
        let store = InMemorySecurityCodeStore()
        let long = PaymentMethodID.random()
        let short = PaymentMethodID.random()
        let consumed = PaymentMethodID.random()
        let code = try SecurityCode("739", brand: .visa)
        _ = await store.hold(code, token: long, merchant: merchant, expiresAt: .testNow.addingTimeInterval(100))
        _ = await store.hold(code, token: consumed, merchant: merchant, expiresAt: .testNow.addingTimeInterval(50))
        _ = await store.hold(code, token: short, merchant: merchant, expiresAt: .testNow.addingTimeInterval(10))
        #expect(await store.consume(token: consumed, merchant: merchant, now: .testNow) != nil)
        #expect(await store.destroyExpired(now: .testNow.addingTimeInterval(11)) == [short])
        #expect(await store.destroyExpired(now: .testNow.addingTimeInterval(60)) == [])
        #expect(await store.destroyExpired(now: .testNow.addingTimeInterval(101)) == [long])
        #expect(await store.count == 0)
    }

    @Test("a full store refuses instead of growing without bound")
    func capacity() async throws {
        let store = InMemorySecurityCodeStore(capacity: 2)
        for expected in [true, true, false] {
            #expect(
                await store.hold(try SecurityCode("123", brand: .visa), token: .random(), merchant: merchant, expiresAt: .testNow.addingTimeInterval(60))
                    == expected)
        }
    }

    @Test("the vault never holds a code longer than ten minutes, whatever it is configured to")
    func lifetimeBound() async throws {
        try await TestGateway.with(.sqlite, securityCodeLifetime: 3600) { test in
            #expect(test.gateway.vault.securityCodeLifetime == 600)
        }
    }

    /// The PCI DSS 3.3.1/3.3.2 property: after expiry, someone holding a copy of every database
    /// file and every key file cannot recover a security code. The test plays that attacker:
    /// it copies the files, then tries every key in the key file against every stored blob.
    @Test("an expired code cannot be recovered from copies of the database files and every key file", arguments: TestBackend.available)
    func unrecoverable(backend: TestBackend) async throws {
        try await TestGateway.with(backend, securityCodeLifetime: 60) { test in
            let shop = try await test.merchant()
            var tokens: [PaymentMethodID] = []
            for card in TestCards.all {
                let pan = try PAN(card.number)
                let method = try await test.gateway.paymentMethods.tokenize(
                    .init(
                        pan: pan, expiry: try CardExpiry(month: 12, year: 2030, now: .testNow),
                        securityCode: try SecurityCode(card.cvc, brand: pan.brand), billingDetails: .init(), metadata: [:]),
                    merchant: shop.id, livemode: false, context: .test)
                tokens.append(method.id)
            }
            // Held until now, and only in memory.
            #expect(await test.gateway.vault.securityCodes.isHeld(token: tokens[0], now: test.clock.now()))
            test.clock.advance(by: 61)
            #expect(try await test.gateway.vault.destroyExpiredSecurityCodes() == TestCards.all.count)
            let destroyed = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max, action: "vault.cvc_destroyed"))
            #expect(Set(destroyed.compactMap { $0.entry.objects["token"] }) == Set(tokens.map(\.rawValue)))
            for token in tokens {
                #expect(try await test.gateway.vault.consumeSecurityCode(token: token, merchant: shop.id, context: .test) == nil)
            }

            // The attacker's copy: every file in the data directory (database, -wal, -shm, key
            // file), plus on PostgreSQL every stored blob read straight from the tables.
            try await test.gateway.database.checkpoint()
            var blobs: [Data] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: test.directory) {
                blobs.append(try Data(contentsOf: URL(fileURLWithPath: test.directory + "/" + name)))
            }
            let rows = try await test.gateway.database.withConnection { db in
                try await db.select().columns("wrapped_key", "ciphertext").from("vault_cards").all()
            }
            for row in rows {
                blobs.append(try row.decode(column: "wrapped_key", as: Data.self))
                blobs.append(try row.decode(column: "ciphertext", as: Data.self))
            }
            let keyFile = try Data(contentsOf: URL(fileURLWithPath: test.gateway.configuration.resolvedKeyFile))
            let keys = try KeyFileKeys.all(in: keyFile)
            #expect(keys.count >= 3)

            // 1. No code appears as a standalone digit string anywhere.
            for card in TestCards.all {
                for blob in blobs {
                    #expect(!DigitScan.containsStandalone(card.cvc, in: blob), "security code found in a file")
                }
            }
            // 2. The attacker knows the format (it is open source) and holds every key: each
            //    vault row opens — that proves the attack works — and holds a card number only.
            let fullRows = try await test.gateway.database.withConnection { db in
                try await db.select().columns("token", "merchant_id", "kek_version", "wrapped_key", "ciphertext").from("vault_cards").all()
            }
            var opened = 0
            for row in fullRows {
                let token = PaymentMethodID(rawValue: try row.decode(column: "token", as: String.self))
                let owner = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
                let version = try row.decode(column: "kek_version", as: Int.self)
                for key in keys {
                    guard let wrapped = try? AES.GCM.SealedBox(combined: try row.decode(column: "wrapped_key", as: Data.self)),
                        let dataKey = try? AES.GCM.open(wrapped, using: key, authenticating: Vault.keyContext(token, owner, version)),
                        let box = try? AES.GCM.SealedBox(combined: try row.decode(column: "ciphertext", as: Data.self)),
                        let plain = try? AES.GCM.open(box, using: SymmetricKey(data: dataKey), authenticating: Vault.cardContext(token, owner))
                    else { continue }
                    opened += 1
                    let text = String(decoding: plain, as: UTF8.self)
                    #expect(TestCards.all.contains { $0.number == text }, "a vault plaintext is exactly one card number")
                }
            }
            #expect(opened == tokens.count)
        }
    }
}

/// The keys a key file holds, read the way an attacker with the file would read them.
enum KeyFileKeys {
    static func all(in file: Data) throws -> [SymmetricKey] {
        let object = try #require(try JSONSerialization.jsonObject(with: file) as? [String: Any])
        var texts: [String] = []
        for section in ["key_encryption_keys", "mac_keys"] {
            texts += ((object[section] as? [String: String]) ?? [:]).values
        }
        return texts.compactMap { Data(base64Encoded: $0) }.map { SymmetricKey(data: $0) }
    }
}
