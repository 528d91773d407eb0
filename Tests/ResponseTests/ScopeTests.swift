import Foundation
import HTTP
import KessaiTestSupport
import Ledger
import Testing

@testable import Response

@Suite("Exposure scope: exactly the suspect's reads, per merchant, over a verified ledger")
struct ScopeTests {
    static func entry(_ action: String, token: String, merchant: String, instance: String, at millis: Int64, payment: String? = nil) -> LedgerEntry {
        var objects = ["token": token, "merchant": merchant, "key_version": "1"]
        if let payment { objects["payment_intent"] = payment }
        var entry = LedgerEntry(
            time: Date(timeIntervalSince1970: TimeInterval(millis) / 1000), actor: LedgerActor(.merchantKey, "key_\(merchant)"), action: action,
            objects: objects,
            purpose: action == "vault.decrypt" ? "authorization" : nil, source: "10.0.0.5")
        entry.instance = instance
        return entry
    }

    @Test("reads by one process in the window, codes it held, the rest as ciphertext; a tampered ledger is not exact", arguments: TestBackend.available)
    func scope(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let ledger = gateway.ledger
            let t0: Int64 = 1_800_000_000_000
            // web-1 reads pm_a twice and pm_b in the window; web-2 reads pm_b and pm_c; web-1 read pm_d before the window.
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_d", merchant: "acct_1", instance: "web-1:1", at: t0 - 60_000))
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_a", merchant: "acct_1", instance: "web-1:1", at: t0 + 1_000, payment: "pi_1"))
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_a", merchant: "acct_1", instance: "web-1:1", at: t0 + 2_000, payment: "pi_2"))
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_b", merchant: "acct_2", instance: "web-1:1", at: t0 + 3_000, payment: "pi_3"))
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_b", merchant: "acct_2", instance: "web-2:9", at: t0 + 4_000, payment: "pi_4"))
            try await ledger.record(Self.entry("vault.decrypt", token: "pm_c", merchant: "acct_2", instance: "web-2:9", at: t0 + 5_000, payment: "pi_5"))
            // Codes: pm_e tokenized on web-1 five minutes before (still held), pm_f tokenized and consumed before.
            try await ledger.record(Self.entry("vault.tokenize", token: "pm_e", merchant: "acct_1", instance: "web-1:1", at: t0 - 300_000))
            try await ledger.record(Self.entry("vault.tokenize", token: "pm_f", merchant: "acct_1", instance: "web-1:1", at: t0 - 300_000))
            try await ledger.record(Self.entry("vault.cvc_consumed", token: "pm_f", merchant: "acct_1", instance: "web-1:1", at: t0 - 200_000))
            // pm_g tokenized through web-1 in the window: its number passed through in clear.
            try await ledger.record(Self.entry("vault.tokenize", token: "pm_g", merchant: "acct_1", instance: "web-1:1", at: t0 + 6_000))
            _ = try await ledger.checkpoint(signer: gateway.keySource, copyTo: nil)
            let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
            var query = ExposureScope.Query(from: t0, to: t0 + 60_000)
            query.instance = "web-1:1"
            let result = try await ExposureScope(database: gateway.database, ledger: ledger, verifier: verifier, page: 2).compute(query)
            #expect(result.exact)
            let byMerchant = Dictionary(uniqueKeysWithValues: result.merchants.map { ($0.merchant, $0) })
            #expect(byMerchant["acct_1"]?.readInClear.keys.sorted() == ["pm_a", "pm_g"])
            #expect(byMerchant["acct_1"]?.readInClear["pm_a"]?.map(\.paymentIntent) == ["pi_1", "pi_2"])
            #expect(byMerchant["acct_1"]?.readInClear["pm_g"]?.map(\.purpose) == ["tokenization"])
            #expect(byMerchant["acct_2"]?.readInClear.keys.sorted() == ["pm_b"])
            #expect(byMerchant["acct_1"]?.securityCodesInReach == ["pm_e", "pm_g"])
            var other = query
            other.instance = "web-2:9"
            let web2 = try await ExposureScope(database: gateway.database, ledger: ledger, verifier: verifier).compute(other)
            #expect(web2.merchants.map(\.merchant) == ["acct_2"] && web2.merchants.first?.readInClear.keys.sorted() == ["pm_b", "pm_c"])
            let json = ScopeReport.json(result).serialized()
            #expect(json.contains("\"exact\":true") && json.contains("\"payment_method\":\"pm_a\"") && !json.contains("pm_c"))
            // Altered: one entry's body changed in place.
            try await gateway.database.withConnection { db in
                try await db.update("ledger_entries").set("body", to: "{\"tampered\":true}").where("seq", .equal, 2).run()
            }
            let tampered = try await ExposureScope(database: gateway.database, ledger: ledger, verifier: verifier).compute(query)
            #expect(!tampered.exact && !tampered.verification.isClean)
            #expect(ScopeReport.json(tampered).serialized().contains("NOT EXACT"))
        }
    }
}
