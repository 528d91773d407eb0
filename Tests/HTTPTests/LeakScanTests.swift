import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Testing

@Suite("No card number or security code at rest, in logs or in responses")
struct LeakScanTests {
    @Test("after tokenizing every test card, the database files, the logs and the responses hold none of them")
    func scan() async throws {
        // A three-digit code turns up by chance in about a megabyte of ciphertexts and hashes
        // every few dozen runs; a code Kessai wrote would be there every time. So a find in the
        // database files counts when two independent runs (fresh keys, fresh nonces) both have it.
        let first = try await scanOnce()
        let second = try await scanOnce()
        #expect(first.intersection(second).isEmpty, "security codes found in the database files of both runs: \(first.intersection(second).sorted())")
    }

    /// Tokenizes every test card, checks the logs and responses, and returns the security codes
    /// found standing alone in the database files.
    func scanOnce() async throws -> Set<String> {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            let responses: [String] = try await test.api { api in
                var responses: [String] = []
                for card in TestCards.all {
                    let made = try await api.post(
                        "/v1/payment_methods", key: shop.publishable, form: cardForm(card, replacing: ["billing_details[name]": "Scan Test"]))
                    #expect(made.status == 200, "\(card.brand): \(made.text)")
                    responses.append(made.text)
                    let id = try #require(made.json["id"] as? String)
                    responses.append(try await api.get("/v1/payment_methods/\(id)", key: shop.secret).text)
                    // Bad input that echoes nothing back either.
                    responses.append(
                        try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm(card, replacing: ["card[exp_month]": "13"])).text)
                    responses.append(try await api.post("/v1/payment_methods", key: shop.secret, form: cardForm(card)).text)
                }
                return responses
            }
            #expect(try await test.count("vault_cards") == TestCards.all.count)
            // Before checkpointing the WAL holds the newest pages; scan it as it is, then again after.
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: test.directory) {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: test.directory + "/" + name))
            }
            #expect(files.keys.contains("kessai.sqlite-wal"), "the scan must cover the WAL: \(files.keys.sorted())")
            try await test.gateway.database.checkpoint()
            for name in try FileManager.default.contentsOfDirectory(atPath: test.directory) {
                files[name + " (after checkpoint)"] = try Data(contentsOf: URL(fileURLWithPath: test.directory + "/" + name))
            }
            var codesInFiles: Set<String> = []
            let logs = Data(test.logs.all.joined(separator: "\n").utf8)
            #expect(!test.logs.all.isEmpty)
            for card in TestCards.all {
                let number = Data(card.number.utf8)
                for (name, data) in files {
                    #expect(data.range(of: number) == nil, "\(card.brand) number in \(name)")
                    if DigitScan.containsStandalone(card.cvc, in: data) { codesInFiles.insert("\(card.brand) security code in \(name)") }
                }
                #expect(logs.range(of: number) == nil, "card number in the logs")
                #expect(
                    !DigitScan.containsStandalone(card.cvc, in: logs),
                    "security code in the logs: \(test.logs.all.filter { DigitScan.containsStandalone(card.cvc, in: Data($0.utf8)) })")
                for response in responses {
                    #expect(!response.contains(card.number))
                    #expect(!DigitScan.containsStandalone(card.cvc, in: Data(response.utf8)))
                }
            }
            // The scan can find what it looks for: the demo data has the last four in clear.
            #expect(files.values.contains { $0.range(of: Data("Scan Test".utf8)) != nil })
            return codesInFiles
        }
    }
}
