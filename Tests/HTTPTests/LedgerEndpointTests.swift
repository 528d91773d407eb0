import Crypto
import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Ledger
import Merchants
import Testing

@Suite("GET /v1/ledger/checkpoint and what the API writes to the ledger")
struct LedgerEndpointTests {
    @Test("only an operator token reads the signed checkpoint, and its signature verifies", arguments: TestBackend.available)
    func checkpoint(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let (_, token) = try await test.gateway.operatorTokens.create(name: "monitor", actor: MerchantStore.localOperator)
            try await test.api { api in
                let none = try await api.get("/v1/ledger/checkpoint", key: token.exposed)
                #expect(none.status == 404, "no checkpoint yet")
                _ = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let badKey = try await api.post("/v1/payment_methods", key: "pk_test_" + String(repeating: "Z", count: 32), form: cardForm())
                #expect(badKey.status == 401, "\(badKey.text)")
                let signed = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
                for key in [nil, shop.secret, shop.publishable, "op_" + String(repeating: "x", count: 40)] {
                    let refused = try await api.get("/v1/ledger/checkpoint", key: key)
                    #expect(refused.status == 401)
                    #expect(refused.error["type"] as? String == "authentication_error")
                }
                let reply = try await api.get("/v1/ledger/checkpoint", key: token.exposed)
                #expect(reply.status == 200, "\(reply.text)")
                let json = reply.json
                #expect(json["size"] as? Int == signed.size)
                let root = try #require(Data(base64Encoded: json["root_hash"] as? String ?? ""))
                let signature = try #require(Data(base64Encoded: json["signature"] as? String ?? ""))
                let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(Data(base64Encoded: json["public_key"] as? String ?? "")))
                #expect(root == signed.root)
                #expect(publicKey.isValidSignature(signature, for: Data((json["signed_note"] as? String ?? "").utf8)))
            }
            // The API's events are in the ledger: the tokenization by its key, the failed keys.
            let entries = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max))
            let tokenize = try #require(entries.first { $0.entry.action == "vault.tokenize" })
            #expect(tokenize.entry.actor.kind == .merchantKey)
            #expect(tokenize.entry.requestID?.hasPrefix("req_") == true)
            let failures = entries.filter { $0.entry.action == "auth.failure" }
            #expect(failures.count >= 5, "\(entries.map { "\($0.entry.action) \($0.entry.outcome) \($0.entry.actor.id)" })")
            #expect(failures.contains { $0.entry.outcome == "invalid" && $0.entry.actor.id.contains("****") })
            #expect(failures.contains { $0.entry.outcome == "invalid_operator_token" })
            #expect(!entries.contains { $0.entry.canonical.contains(shop.secret) || $0.entry.canonical.contains(token.exposed) })
            // A revoked token no longer works.
            let id = try #require(entries.first { $0.entry.action == "operator_token.created" }?.entry.objects["operator_token"])
            #expect(try await test.gateway.operatorTokens.revoke(id: id, actor: MerchantStore.localOperator))
            #expect(try await test.gateway.operatorTokens.authenticate(token.exposed) == nil)
        }
    }
}

@Suite("Configuration changes are in the ledger")
struct ConfigurationRecordTests {
    @Test("a start with the same settings is config.loaded; a changed setting is config.changed")
    func startRecords() async throws {
        try await TestGateway.with(.sqlite) { test in
            try await test.gateway.recordStartConfiguration()
            try await test.gateway.recordStartConfiguration()
            _ = try test.gateway.keySource.createVersion()
            try await test.gateway.recordStartConfiguration()
            let actions = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry.action).filter { $0.hasPrefix("config.") }
            #expect(actions == ["config.loaded", "config.loaded", "config.changed"])
        }
    }
}
