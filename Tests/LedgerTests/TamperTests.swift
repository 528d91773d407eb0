import Crypto
import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import Payments
import SQLKit
import Storage
import Testing
import Vault

/// How many `vault.decrypt` entries the ledger holds, once the pending ones are sequenced.
func decryptEntries(_ test: TestGateway) async throws -> Int {
    try await test.gateway.vault.ledger.sequenceAll()
    return try await test.gateway.database.withConnection { db in
        try await db.select().column("seq").from("ledger_entries").where("action", .equal, "vault.decrypt").all().count
    }
}

/// A ledger with real events in it: merchants, tokenizations, decryptions, failed logins.
func populate(_ test: TestGateway, tokenizations: Int = 8) async throws -> [PaymentMethodID] {
    let shop = try await test.merchant("Ledger Shop")
    var tokens: [PaymentMethodID] = []
    for index in 0..<tokenizations {
        let card = TestCards.all[index % TestCards.all.count]
        let pan = try PAN(card.number)
        let method = try await test.gateway.paymentMethods.tokenize(
            CardTokenization(
                pan: pan, expiry: try CardExpiry(month: 12, year: 2030, now: .testNow),
                securityCode: try SecurityCode(card.cvc, brand: pan.brand), billingDetails: .init(), metadata: [:]),
            merchant: shop.id, livemode: false, context: .test)
        tokens.append(method.id)
        _ = try await test.gateway.vault.reveal(token: method.id, merchant: shop.id, purpose: .authorization, context: .test, in: test.gateway.database)
    }
    try await test.gateway.ledger.record(
        LedgerEntry(
            time: test.clock.now(), actor: LedgerActor(.anonymous, "sk_test_****abcd"), action: "auth.failure", source: "203.0.113.9", outcome: "invalid"))
    try await test.gateway.ledger.sequenceAll()
    return tokens
}

extension TestGateway {
    var verifier: LedgerVerifier {
        get throws { LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey()) }
    }

    func sql(_ body: @Sendable (any SQLDatabase) async throws -> Void) async throws {
        try await gateway.database.withConnection { db in try await body(db) }
    }

    func row(_ seq: Int) async throws -> (body: String, leaf: Data, root: Data) {
        try await gateway.database.withConnection { db in
            let row = try #require(try await db.select().columns("body", "leaf_hash", "chain_hash").from("ledger_entries").where("seq", .equal, seq).first())
            return (
                try row.decode(column: "body", as: String.self), try row.decode(column: "leaf_hash", as: Data.self),
                try row.decode(column: "chain_hash", as: Data.self)
            )
        }
    }
}

@Suite("Ledger: every access is recorded, and every kind of tampering is found with its position")
struct TamperTests {
    @Test("a clean log verifies, with its size and root, against its signed checkpoints", arguments: TestBackend.available)
    func clean(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let tokens = try await populate(test)
            let first = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
            _ = try await populate(test, tokenizations: 2)
            let second = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
            #expect(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource) == nil, "nothing new, no checkpoint")
            let report = try await test.verifier.verify()
            #expect(report.isClean, "\(report.findings)")
            #expect(report.size == second.size)
            #expect(report.root == second.root)
            #expect(report.checkpointsChecked == 2)
            // What went in: merchant and keys, each tokenization and each decryption with its purpose.
            let all = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max))
            let actions = all.map(\.entry.action)
            #expect(actions.filter { $0 == "vault.tokenize" }.count == 10)
            #expect(actions.filter { $0 == "vault.decrypt" }.count == 10)
            #expect(actions.contains("merchant.created") && actions.contains("api_key.issued") && actions.contains("auth.failure"))
            let reads = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max, action: "vault.decrypt", token: tokens[3].rawValue))
            #expect(reads.count == 1)
            #expect(reads.first?.entry.purpose == "authorization")
            // Proofs from the stored log verify against the signed roots.
            let inclusion = try await test.gateway.ledger.inclusionProof(seq: 5, size: first.size)
            #expect(inclusion.root == first.root)
            #expect(Merkle.verifyInclusion(index: 5, size: first.size, leafHash: inclusion.leaf, proof: inclusion.proof, root: first.root))
            let consistency = try await test.gateway.ledger.consistencyProof(old: first.size, new: second.size)
            #expect(Merkle.verifyConsistency(oldSize: first.size, newSize: second.size, oldRoot: first.root, newRoot: second.root, proof: consistency.proof))
        }
    }

    enum Tamper: String, CaseIterable, CustomStringConvertible {
        case changeField, changeColumn, retypeColumn, changeFieldAndFixLeaf, rewriteConsistently, delete, moveFarAhead, swap, insert, truncate, forgeCheckpoint
        var description: String { rawValue }
    }

    static let cases: [(TestBackend, Tamper)] = TestBackend.available.flatMap { backend in Tamper.allCases.map { (backend, $0) } }

    @Test("tampering is detected, with the position", arguments: cases)
    func tamper(backend: TestBackend, tamper: Tamper) async throws {
        try await TestGateway.with(backend) { test in
            _ = try await populate(test)
            let checkpoint = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
            #expect(checkpoint.size > 15)
            #expect(try await test.verifier.verify().isClean)
            let target = 7
            let (body, _, _) = try await test.row(target)
            let forged = body.replacingOccurrences(of: "\"outcome\":\"success\"", with: "\"outcome\":\"failure\"")
            #expect(forged != body)
            var expected: (LedgerFinding.Kind, Int)
            switch tamper {
            case .changeField:
                try await test.sql { db in try await db.update("ledger_entries").set("body", to: forged).where("seq", .equal, target).run() }
                expected = (.alteredEntry, target)
            case .changeColumn:
                try await test.sql { db in try await db.update("ledger_entries").set("merchant_id", to: "acct_someoneelse").where("seq", .equal, target).run() }
                expected = (.alteredColumns, target)
            case .retypeColumn:
                // A column the entry leaves empty (NULL) given a value that is not text: a blob on
                // SQLite (which keeps a blob's type in a text column), an empty string on PostgreSQL.
                let row = try await test.gateway.database.withConnection { db in
                    try await db.select().column("seq").from("ledger_entries").where("token", .is, SQLLiteral.null)
                        .where("seq", .lessThan, checkpoint.size).orderBy("seq").first()
                }
                let seq = try #require(try row?.decode(column: "seq", as: Int.self))
                let value: any Encodable & Sendable = backend == .postgres ? "" : Data([0x41])
                try await test.sql { db in try await db.update("ledger_entries").set("token", to: SQLBind(value)).where("seq", .equal, seq).run() }
                expected = (.alteredColumns, seq)
            case .changeFieldAndFixLeaf:
                let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: forged, seq: Int64(target)))
                try await test.sql { db in
                    try await db.update("ledger_entries").set("body", to: forged).set("leaf_hash", to: SQLBind(leaf)).where("seq", .equal, target).run()
                }
                expected = (.alteredEntry, target)
            case .rewriteConsistently:
                // The attacker recomputes everything that is not signed: leaves, roots, state.
                try await test.sql { db in try await db.update("ledger_entries").set("body", to: forged).where("seq", .equal, target).run() }
                try await Self.recomputeEverything(test)
                expected = (.checkpointMismatch, 0)
            case .delete:
                try await test.sql { db in try await db.delete(from: "ledger_entries").where("seq", .equal, target).run() }
                expected = (.missingEntry, target)
            case .moveFarAhead:
                // A position far past the end (the largest there is): verify must neither read
                // every empty range up to it nor overflow, and still name the hole it left.
                try await test.sql { db in try await db.update("ledger_entries").set("seq", to: Int64.max).where("seq", .equal, target).run() }
                expected = (.missingEntry, target)
            case .swap:
                let (other, otherLeaf, otherRoot) = try await test.row(target + 4)
                let (mine, mineLeaf, mineRoot) = try await test.row(target)
                try await test.sql { db in
                    try await db.update("ledger_entries").set("body", to: other).set("leaf_hash", to: SQLBind(otherLeaf)).set(
                        "chain_hash", to: SQLBind(otherRoot)
                    )
                    .where("seq", .equal, target).run()
                    try await db.update("ledger_entries").set("body", to: mine).set("leaf_hash", to: SQLBind(mineLeaf)).set("chain_hash", to: SQLBind(mineRoot))
                        .where("seq", .equal, target + 4).run()
                }
                expected = (.wrongPosition, target)
            case .insert:
                // Make room at the target by moving everything after it up one, then put a forged entry there.
                let size = checkpoint.size
                try await test.sql { db in
                    for seq in stride(from: size - 1, through: target, by: -1) {
                        try await db.update("ledger_entries").set("seq", to: seq + 1).where("seq", .equal, seq).run()
                    }
                    let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: forged, seq: Int64(target)))
                    try await db.insert(into: "ledger_entries").columns(
                        "seq", "time", "actor_kind", "actor_id", "action", "merchant_id", "token", "request_id", "body", "leaf_hash", "chain_hash"
                    ).values(
                        SQLBind(target), SQLBind(Int64(0)), SQLBind("operator"), SQLBind("test"), SQLBind("vault.tokenize"), SQLBind(String?.none),
                        SQLBind(String?.none), SQLBind(String?.none), SQLBind(forged), SQLBind(leaf), SQLBind(leaf)
                    ).run()
                }
                expected = (.alteredEntry, target)
            case .truncate:
                try await test.sql { db in try await db.delete(from: "ledger_entries").where("seq", .greaterThanOrEqual, 15).run() }
                expected = (.truncated, 15)
            case .forgeCheckpoint:
                try await test.sql { db in
                    try await db.update("ledger_checkpoints").set("root", to: SQLBind(Data(repeating: 7, count: 32))).run()
                }
                expected = (.badSignature, checkpoint.size)
            }
            let report = try await test.verifier.verify()
            #expect(!report.isClean)
            #expect(
                report.findings.contains { $0.kind == expected.0 && $0.position == expected.1 },
                "expected \(expected.0) at \(expected.1); found \(report.findings)")
            if tamper == .changeField {
                // One edit, one position: the entries after it are not reported too.
                #expect(
                    report.findings.filter { ![.checkpointMismatch, .stateMismatch].contains($0.kind) }.allSatisfy { $0.position == target },
                    "\(report.findings)")
            }
            if tamper == .rewriteConsistently {
                let finding = try #require(report.findings.first { $0.kind == .checkpointMismatch })
                #expect(finding.detail.contains("from 0 to \(checkpoint.size - 1)"))
            }
        }
    }

    /// What an attacker with the database but not the signing key can do: make every stored hash
    /// agree with the altered entries.
    static func recomputeEverything(_ test: TestGateway) async throws {
        try await test.sql { db in
            let rows = try await db.select().columns("seq", "body").from("ledger_entries").orderBy("seq").all()
            var range = CompactRange()
            var chain = Data()
            for row in rows {
                let seq = try row.decode(column: "seq", as: Int.self)
                let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: try row.decode(column: "body", as: String.self), seq: Int64(seq)))
                range.append(leaf)
                chain = Merkle.chain(chain, leaf)
                try await db.update("ledger_entries").set("leaf_hash", to: SQLBind(leaf)).set("chain_hash", to: SQLBind(chain))
                    .where("seq", .equal, seq).run()
            }
            try await db.update("ledger_state").set("size", to: range.size).set("frontier", to: SQLBind(range.packed)).set("chain", to: SQLBind(chain)).run()
        }
    }

    @Test("a copy of the checkpoints kept off the host still catches a truncation when the stored ones are deleted too", arguments: TestBackend.available)
    func externalCheckpoints(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            _ = try await populate(test)
            let file = test.directory + "/checkpoints.jsonl"
            let checkpoint = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource, copyTo: file))
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap { Checkpoint(jsonLine: String($0)) }
            #expect(lines == [checkpoint])
            try await test.sql { db in
                try await db.delete(from: "ledger_entries").where("seq", .greaterThanOrEqual, 10).run()
                try await db.delete(from: "ledger_checkpoints").run()
            }
            try await TamperTests.recomputeEverything(test)
            #expect(try await test.verifier.verify().isClean, "without the off-host copy the truncation is invisible")
            let report = try await test.verifier.verify(external: lines)
            #expect(report.findings.contains { $0.kind == .truncated && $0.position == 10 })
        }
    }

    @Test("a card cannot be decrypted without its ledger entry", arguments: TestBackend.available)
    func noReadWithoutEntry(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let tokens = try await populate(test, tokenizations: 1)
            let merchant = try #require(try await test.gateway.merchants.list().first?.merchant.id)
            func decrypts() async throws -> Int {
                try await test.gateway.database.withConnection { db in
                    try await db.select().column("seq").from("ledger_entries").where("action", .equal, "vault.decrypt").all().count
                }
            }
            let before = try await decrypts()
            #expect(before == 1)
            // Break the ledger: the read must fail rather than go unrecorded.
            try await test.sql { db in try await db.run("DROP TABLE ledger_pending") }
            await #expect(throws: (any Error).self) {
                _ = try await test.gateway.vault.reveal(
                    token: tokens[0], merchant: merchant, purpose: .investigation, context: .test, in: test.gateway.database)
            }
            #expect(try await decrypts() == before)
        }
    }

    @Test("a card read inside a transaction is decrypted only when that transaction, with its entry, commits", arguments: TestBackend.available)
    func readJoinsTransaction(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let tokens = try await populate(test, tokenizations: 1)
            let merchant = try #require(try await test.gateway.merchants.list().first?.merchant.id)
            let vault = test.gateway.vault
            func decrypts() async throws -> Int { try await decryptEntries(test) }
            let before = try await decrypts()
            struct Abandoned: Error {}
            // The caller's work fails after the read: nothing is decrypted and the entry is gone
            // with the rest of the transaction.
            await #expect(throws: Abandoned.self) {
                _ = try await vault.revealing(in: test.gateway.database) { _, cards -> (Int, Vault.ReadCard?) in
                    _ = try await cards.read(token: tokens[0], merchant: merchant, purpose: .investigation, context: .test)
                    throw Abandoned()
                }
            }
            #expect(try await decrypts() == before)
            // It commits: the card comes back, and so does exactly one entry.
            let (_, pan) = try await vault.revealing(in: test.gateway.database) { _, cards in
                ((), try await cards.read(token: tokens[0], merchant: merchant, purpose: .investigation, context: .test))
            }
            #expect(try pan?.get().last4.isEmpty == false)
            #expect(try await decrypts() == before + 1)
        }
    }

    /// A merchant's name beside the card a token names, if the vault holds it for them.
    enum NameAndCard: Vault.JoinedCardRead {
        static let text = "SELECT merchants.name, \(sealedColumns) FROM merchants \(sealedJoin) WHERE merchants.id = $2"
        static let parameters: [SQLValue.Kind] = [.text, .text]
    }

    @Test("a card read joined to the caller's row gets its entry; a row without a card gets none", arguments: TestBackend.available)
    func joinedRead(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let tokens = try await populate(test, tokenizations: 1)
            let owner = try #require(try await test.gateway.merchants.list().first?.merchant.id)
            let stranger = try await test.merchant("Other Shop").id
            let vault = test.gateway.vault
            func decrypts() async throws -> Int { try await decryptEntries(test) }
            let before = try await decrypts()
            func joined(_ token: PaymentMethodID, _ merchant: MerchantID) async throws -> (name: String?, pan: PAN?) {
                let (name, opened) = try await vault.revealing(in: test.gateway.database) { _, cards -> (String?, Vault.ReadCard?) in
                    let read = try await cards.read(joined: NameAndCard.self, token: token, merchant: merchant, purpose: .investigation, context: .test)
                    return (try read?.row.text(0), read?.card)
                }
                return (name, try opened?.get())
            }
            // Another merchant's row comes back, without the card: the token is not theirs.
            let foreign = try await joined(tokens[0], stranger)
            #expect(foreign.name != nil && foreign.pan == nil)
            // No row at all.
            let none = try await joined(tokens[0], MerchantID(rawValue: "acct_none"))
            #expect(none.name == nil && none.pan == nil)
            #expect(try await decrypts() == before)
            // The owner's row with the card, and exactly one entry for it.
            let own = try await joined(tokens[0], owner)
            #expect(own.name != nil)
            #expect(own.pan?.last4.isEmpty == false)
            #expect(try await decrypts() == before + 1)
        }
    }
}
