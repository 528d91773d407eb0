import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KessaiCore
import KessaiTestSupport
import Ledger
import NIOCore
import SQLKit
import Testing

@testable import HTTP

/// The audit's findings on the public surface (issue 19), each with the test that failed before
/// its fix.
@Suite("Hardening: refused keys, attempt caps, idempotency scope, fingerprints, publishable reads")
struct HardeningTests {
    /// Entries of these actions, sequenced.
    static func entries(_ test: TestGateway, _ actions: Set<String>) async throws -> [LedgerEntry] {
        try await test.gateway.ledger.sequenceAll()
        return try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry).filter { actions.contains($0.action) }
    }

    @Test("5,000 refused keys from one source add a bounded number of ledger entries, and the counts add up", arguments: TestBackend.available)
    func refusedKeyFlood(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            try await test.api { api in
                for index in 0..<5_000 {
                    let reply = try await api.get("/v1/payment_intents", key: "sk_test_madeup\(index)xxxxxxxxxxxx")
                    #expect(reply.status == 401)
                }
                // No header at all is a refusal too, under its own subject.
                #expect(try await api.get("/v1/payment_intents", key: nil).status == 401)
            }
            let policy = test.gateway.failures.policy
            // The window is still open: what is written so far is the first entries in full.
            var written = try await Self.entries(test, ["auth.failure", "auth.failure.aggregate"])
            #expect(written.filter { $0.action == "auth.failure" }.count == policy.fullEntries + 1)
            // The window ends: one aggregate entry carries the rest.
            test.clock.advance(by: policy.window + 1)
            try await test.gateway.failures.flush()
            written = try await Self.entries(test, ["auth.failure", "auth.failure.aggregate"])
            let aggregates = written.filter { $0.action == "auth.failure.aggregate" }
            #expect(aggregates.count == 1)
            let counted: Int = aggregates.compactMap { Int($0.objects["count"] ?? "") }.reduce(0, +)
            #expect(written.filter { $0.action == "auth.failure" }.count + counted == 5_001)
            #expect(aggregates.first?.objects["subject"] == "sk_test")
            #expect(written.count <= policy.fullEntries + 2, "entries per 5,000 failures: \(written.count)")
            // A new window writes in full again.
            try await test.api { api in _ = try await api.get("/v1/payment_intents", key: "sk_test_madeupagainxxxxxxxxxx") }
            #expect(try await Self.entries(test, ["auth.failure"]).count == policy.fullEntries + 2)
        }
    }

    @Test("failures are grouped by source, IPv6 sources by /64, and many sources share a global budget")
    func failureGrouping() async throws {
        #expect(FailureRecorder.group("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64")
        #expect(FailureRecorder.group("2001:db8:1:2::9") == "2001:db8:1:2::/64")
        #expect(FailureRecorder.group("203.0.113.9") == "203.0.113.9")
        try await TestGateway.with(.sqlite) { test in
            var policy = FailureRecorder.Policy()
            policy.fullEntries = 2
            policy.globalFullEntries = 5
            let recorder = FailureRecorder(ledger: test.gateway.ledger, clock: test.clock, policy: policy)
            var outcomes: [FailureRecorder.Outcome] = []
            for source in 0..<10 {
                for _ in 0..<3 {
                    let entry = LedgerEntry(time: test.clock.now(), actor: LedgerActor(.anonymous, "x"), action: "auth.failure", source: "2001:db8::\(source)")
                    outcomes.append(try await recorder.record(entry, subject: "sk_test"))
                }
            }
            // All ten addresses are one /64: two in full, the rest counted.
            #expect(outcomes.filter { $0 == .recorded }.count == 2)
            for source in 0..<10 {
                let entry = LedgerEntry(time: test.clock.now(), actor: LedgerActor(.anonymous, "x"), action: "auth.failure", source: "198.51.100.\(source)")
                outcomes.append(try await recorder.record(entry, subject: "sk_test"))
            }
            // Three more sources fill the global budget of five; the other seven are counted.
            #expect(outcomes.filter { $0 == .recorded }.count == 5)
            #expect(try await recorder.flush(all: true) == 2)
            let aggregates = try await Self.entries(test, ["auth.failure.aggregate"])
            let counted: Int = aggregates.compactMap { Int($0.objects["count"] ?? "") }.reduce(0, +)
            #expect(counted == 35)
        }
    }

    @Test("a publishable key's Idempotency-Key does not block the secret key's, and keys are stored only as HMACs", arguments: TestBackend.available)
    func idempotencyScope(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm(), headers: ["Idempotency-Key": "order-1001"])
                #expect(method.status == 200)
                let intent = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")], headers: ["Idempotency-Key": "order-1001"])
                #expect(intent.status == 200, "\(intent.text)")
                let again = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1000"), ("currency", "jpy")], headers: ["Idempotency-Key": "order-1001"])
                #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true" && again.json["id"] as? String == intent.json["id"] as? String)
                let other = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "2000"), ("currency", "jpy")], headers: ["Idempotency-Key": "order-1001"])
                #expect(other.status == 400 && !other.text.contains("order-1001"), "the refusal does not echo the key")
            }
            let stored = try await test.gateway.database.withConnection { db in
                try await db.select().column("idempotency_key").from("idempotency_keys").all().map { try $0.decode(column: "idempotency_key", as: String.self) }
            }
            #expect(stored.count == 2 && stored.allSatisfy { $0.hasPrefix("h1:") && !$0.contains("order") })
        }
    }

    @Test("the same card has unrelated fingerprints at two merchants, the same one twice at one, and old rows are migrated", arguments: TestBackend.available)
    func fingerprintsPerMerchant(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let a = try await test.merchant("A")
            let b = try await test.merchant("B")
            let prints: [String] = try await test.api { api in
                var prints: [String] = []
                for key in [a.publishable, a.publishable, b.publishable] {
                    let made = try await api.post("/v1/payment_methods", key: key, form: cardForm())
                    prints.append(try #require((made.json["card"] as? [String: Any])?["fingerprint"] as? String))
                }
                return prints
            }
            #expect(prints[0] == prints[1] && prints[0] != prints[2] && prints.allSatisfy { $0.count == 16 })
            let global = try test.gateway.vault.fingerprint(of: PAN(TestCards.visa.number))
            #expect(!prints.contains(global), "the internal fingerprint is never returned")
            #expect(prints[0] == (try test.gateway.vault.fingerprint(of: PAN(TestCards.visa.number), merchant: a.id)))
            // A row written before the change shows the internal fingerprint: the start-up migration converts it.
            try await test.gateway.database.withConnection { db in
                try await db.update("payment_methods").set("fingerprint", to: global).where("merchant_id", .equal, b.id.rawValue).run()
            }
            #expect(try await test.gateway.vault.migrateMerchantFingerprints(in: test.gateway.database) == 1)
            #expect(try await test.gateway.vault.migrateMerchantFingerprints(in: test.gateway.database) == 0)
            let migrated = try await test.gateway.database.withConnection { db in
                try await db.select().column("fingerprint").from("payment_methods").where("merchant_id", .equal, b.id.rawValue).first()?
                    .decode(column: "fingerprint", as: String.self)
            }
            #expect(migrated == prints[2])
        }
    }

    @Test("a publishable key with the client secret sees the intent without the merchant's private fields")
    func publishableRead() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                let intent = try await api.post(
                    "/v1/payment_intents", key: shop.secret,
                    form: [
                        ("amount", "1000"), ("currency", "jpy"), ("description", "margin 40%"), ("metadata[customer]", "c-77"),
                        ("receipt_email", "a@example.com"),
                    ])
                let id = try #require(intent.json["id"] as? String)
                let secret = try #require(intent.json["client_secret"] as? String)
                let seen = try await api.get("/v1/payment_intents/\(id)?client_secret=\(secret)", key: shop.publishable)
                #expect(seen.status == 200 && seen.json["status"] as? String == "requires_payment_method" && seen.json["amount"] as? Int == 1000)
                for field in ["metadata", "description", "receipt_email"] { #expect(seen.json[field] == nil, "\(field)") }
                #expect(!seen.text.contains("c-77") && !seen.text.contains("margin"))
                let full = try await api.get("/v1/payment_intents/\(id)", key: shop.secret)
                #expect((full.json["metadata"] as? [String: Any])?["customer"] as? String == "c-77")
            }
        }
    }
}

extension APIClient {
    /// A form POST with extra headers.
    func post(_ path: String, key: String?, form pairs: [(String, String)], headers extra: [String: String]) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: Self.form(pairs))) { response in
            Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }
}
