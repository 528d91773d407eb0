import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Storage
import Synchronization
import Testing

@testable import Vault

@Suite("Vault: envelope encryption, binding, rotation")
struct VaultTests {
    @Test("a stored card reads back only for its merchant", arguments: TestBackend.available)
    func roundTrip(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let owner = try await test.merchant("Owner")
            let other = try await test.merchant("Other")
            let vault = test.gateway.vault
            let pan = try PAN(TestCards.visa.number)
            let token = PaymentMethodID.random()
            _ = try await test.gateway.database.transaction { db in
                try await vault.store(pan, token: token, merchant: owner.id, context: .test, on: db)
            }
            let read = try await vault.reveal(token: token, merchant: owner.id, purpose: .investigation, context: .test, in: test.gateway.database)
            #expect(read == pan)
            await #expect(throws: VaultError.notFound) {
                try await vault.reveal(token: token, merchant: other.id, purpose: .investigation, context: .test, in: test.gateway.database)
            }
            // Each read is in the ledger with its purpose; the refused one is not a read.
            let reads = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: Int64.max, action: "vault.decrypt"))
            #expect(reads.count == 1)
            #expect(reads.first?.entry.objects["token"] == token.rawValue)
            #expect(reads.first?.entry.purpose == "investigation")
            #expect(reads.first?.entry.actor == LedgerActor(.operator, "test"))
        }
    }

    @Test("a ciphertext moved onto another row, or a changed byte, fails to open", arguments: TestBackend.available)
    func binding(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let merchant = try await test.merchant()
            let vault = test.gateway.vault
            let database = test.gateway.database
            let first = PaymentMethodID.random()
            let second = PaymentMethodID.random()
            try await database.transaction { db in
                _ = try await vault.store(try PAN(TestCards.visa.number), token: first, merchant: merchant.id, context: .test, on: db)
                _ = try await vault.store(try PAN(TestCards.amex.number), token: second, merchant: merchant.id, context: .test, on: db)
            }
            func row(_ token: PaymentMethodID) async throws -> (Data, Data) {
                try await database.withConnection { db in
                    let row = try #require(
                        try await db.select().columns("wrapped_key", "ciphertext").from("vault_cards")
                            .where("token", .equal, token.rawValue).first())
                    return (try row.decode(column: "wrapped_key", as: Data.self), try row.decode(column: "ciphertext", as: Data.self))
                }
            }
            func write(_ token: PaymentMethodID, wrapped: Data, ciphertext: Data) async throws {
                try await database.withConnection { db in
                    try await db.update("vault_cards").set("wrapped_key", to: SQLBind(wrapped)).set("ciphertext", to: SQLBind(ciphertext))
                        .where("token", .equal, token.rawValue).run()
                }
            }
            func reveal(_ token: PaymentMethodID) async throws -> PAN {
                try await vault.reveal(token: token, merchant: merchant.id, purpose: .investigation, context: .test, in: database)
            }
            let (firstKey, firstCipher) = try await row(first)
            let (secondKey, secondCipher) = try await row(second)

            // The whole ciphertext and its wrapped key copied onto the other row.
            try await write(second, wrapped: firstKey, ciphertext: firstCipher)
            await #expect(throws: VaultError.decryptionFailed(token: second.rawValue)) { try await reveal(second) }
            // Only the card ciphertext moved; the row's own key.
            try await write(second, wrapped: secondKey, ciphertext: firstCipher)
            await #expect(throws: VaultError.decryptionFailed(token: second.rawValue)) { try await reveal(second) }
            // Back in place it opens again.
            try await write(second, wrapped: secondKey, ciphertext: secondCipher)
            #expect(try await reveal(second).last4 == "0005")

            // One changed byte anywhere in the ciphertext or the wrapped key.
            for position in [0, 12, firstCipher.count / 2, firstCipher.count - 1] {
                var tampered = firstCipher
                tampered[position] ^= 0x01
                try await write(first, wrapped: firstKey, ciphertext: tampered)
                await #expect(throws: VaultError.decryptionFailed(token: first.rawValue)) { try await reveal(first) }
            }
            var tamperedKey = firstKey
            tamperedKey[tamperedKey.count - 1] ^= 0x80
            try await write(first, wrapped: tamperedKey, ciphertext: firstCipher)
            await #expect(throws: VaultError.decryptionFailed(token: first.rawValue)) { try await reveal(first) }
        }
    }

    @Test("the same card gets the same fingerprint across tokens and merchants; another card does not", arguments: TestBackend.available)
    func fingerprints(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let vault = test.gateway.vault
            let a = try vault.fingerprint(of: PAN(TestCards.visa.number))
            let b = try vault.fingerprint(of: PAN("4242 4242 4242 4242"))
            let c = try vault.fingerprint(of: PAN(TestCards.amex.number))
            #expect(a == b)
            #expect(a != c)
            #expect(a.count == 16)
            #expect(!a.contains("4242"))
        }
    }

    @Test("rotation re-wraps every data key while tokenization goes on, then retires the old version", arguments: TestBackend.available)
    func rotation(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let merchant = try await test.merchant()
            let gateway = test.gateway
            var tokens: [(PaymentMethodID, String)] = []
            for index in 0..<60 {
                let card = TestCards.all[index % TestCards.all.count]
                let token = PaymentMethodID.random()
                _ = try await gateway.database.transaction { db in
                    try await gateway.vault.store(try PAN(card.number), token: token, merchant: merchant.id, context: .test, on: db)
                }
                tokens.append((token, card.number))
            }
            #expect(try gateway.keySource.versions() == [1])
            let progress = ProgressLog()
            let rotation = KeyRotation(vault: gateway.vault, database: gateway.database, clock: gateway.clock, batchSize: 7)
            // Tokenize while the rotation runs, as a serving gateway would.
            async let during: [(PaymentMethodID, String)] = {
                var made: [(PaymentMethodID, String)] = []
                for _ in 0..<20 {
                    let token = PaymentMethodID.random()
                    _ = try await gateway.database.transaction { db in
                        try await gateway.vault.store(try PAN(TestCards.visa.number), token: token, merchant: merchant.id, context: .test, on: db)
                    }
                    made.append((token, TestCards.visa.number))
                }
                return made
            }()
            let outcome = try await rotation.run { done, total in progress.add(done, total) }
            tokens += try await during
            #expect(outcome.newVersion == 2)
            #expect(outcome.retiredVersions == [1])
            let steps = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry.action).filter { $0.hasPrefix("vault.key_rotation.") }
            #expect(steps.first == "vault.key_rotation.started")
            #expect(steps.last == "vault.key_rotation.retired")
            #expect(steps.contains("vault.key_rotation.rewrapped"))
            #expect(progress.last?.done == outcome.rewrapped)
            // Nothing may be left under the old version, even what was written during the rotation.
            let remaining = try await gateway.database.withConnection { db in
                try await db.select().column("token").from("vault_cards").where("kek_version", .notEqual, 2).all().count
            }
            #expect(remaining == 0)
            #expect(try gateway.keySource.versions() == [2])
            let states = try await gateway.database.withConnection { db in
                try await db.select().columns("version", "state").from("vault_key_versions").orderBy("version").all()
                    .map { (try $0.decode(column: "version", as: Int.self), try $0.decode(column: "state", as: String.self)) }
            }
            #expect(states.map(\.0) == [1, 2])
            #expect(states.map(\.1) == ["retired", "active"])
            for (token, number) in tokens {
                let pan = try await gateway.vault.reveal(token: token, merchant: merchant.id, purpose: .investigation, context: .test, in: gateway.database)
                #expect(pan == (try PAN(number)))
            }
            // The retired key is gone from the key file itself.
            let file = try String(contentsOfFile: gateway.configuration.resolvedKeyFile, encoding: .utf8)
            #expect(!file.contains("\"1\""))
            // A second rotation works from the new state.
            let again = try await rotation.run()
            #expect(again.newVersion == 3)
            #expect(again.rewrapped == tokens.count)
        }
    }

    @Test("an interrupted rotation resumes: a retiring version means the key was already made", arguments: TestBackend.available)
    func resume(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let merchant = try await test.merchant()
            let gateway = test.gateway
            let token = PaymentMethodID.random()
            _ = try await gateway.database.transaction { db in
                try await gateway.vault.store(try PAN(TestCards.visa.number), token: token, merchant: merchant.id, context: .test, on: db)
            }
            // Simulate a crash after step 1: version 2 created and active, version 1 retiring.
            let created = try gateway.keySource.createVersion()
            try await gateway.database.transaction { db in
                try await db.update("vault_key_versions").set("state", to: "retiring").where("version", .equal, 1).run()
                try await db.insert(into: "vault_key_versions").columns("version", "state", "created_at")
                    .values(SQLBind(created), SQLBind("active"), SQLBind(Int64(0))).run()
            }
            let outcome = try await KeyRotation(vault: gateway.vault, database: gateway.database, clock: gateway.clock).run()
            #expect(outcome.newVersion == 2)
            #expect(outcome.rewrapped == 1)
            #expect(try gateway.keySource.versions() == [2])
        }
    }

    @Test("the key file is created with mode 0600 and refused when others can read it")
    func keyFilePermissions() throws {
        let path = FileManager.default.temporaryDirectory.path + "/kessai-keys-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try FileKeySource.generate(path: path, purpose: "development")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600)
        #expect(throws: VaultError.self) { try FileKeySource.generate(path: path, purpose: "development") }
        chmod(path, 0o644)
        #expect(throws: VaultError.self) { try FileKeySource(path: path) }
        #expect(throws: VaultError.self) { try FileKeySource(path: path + ".missing") }
    }
}

final class ProgressLog: Sendable {
    private let entries = Mutex<[(done: Int, total: Int)]>([])
    func add(_ done: Int, _ total: Int) { entries.withLock { $0.append((done, total)) } }
    var last: (done: Int, total: Int)? { entries.withLock { $0.last } }
}
