import Foundation
import KessaiTestSupport
import Ledger
import Testing

@testable import HTTP

/// The repository's `web/` folder.
private let repositoryWeb = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("web").path

@Suite("Payment-page scripts, embedding origins, hosted pages' headers")
struct HostedPagesTests {
    @Test("every script in web/ is in the inventory with its current hash (change one, update its hash in the same commit)")
    func inventoryMatchesTheRepository() throws {
        #expect(ScriptIntegrity(webRoot: repositoryWeb).check() == [])
        let files = try FileManager.default.subpathsOfDirectory(atPath: repositoryWeb).filter { $0.hasSuffix(".js") }.sorted()
        #expect(files == ScriptInventory.entries.map(\.file).sorted(), "a script in web/ that is not inventoried would never be served")
    }

    @Test("the integrity check reports a changed script and a missing one, with the path")
    func integrityCheckFindsChanges() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("kessai-web-" + UUID().uuidString).path
        try FileManager.default.copyItem(atPath: repositoryWeb, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let handle = try #require(FileHandle(forWritingAtPath: copy + "/js/v1/kessai.js"))
        handle.seekToEndOfFile()
        handle.write(Data("\n// one more byte\n".utf8))
        handle.closeFile()
        try FileManager.default.removeItem(atPath: copy + "/js/v1/card-field.js")
        let findings = ScriptIntegrity(webRoot: copy).check()
        #expect(findings.map(\.path) == ["/js/v1/kessai.js", "/js/v1/card-field.js"])
        #expect(findings[0].observed != nil && findings[0].observed != findings[0].expected)
        #expect(findings[1].observed == nil)
        #expect(ScriptIntegrity(webRoot: nil).check().count == ScriptInventory.entries.count)
    }

    @Test("origins are normalized, and only https (http for loopback) origins without paths are accepted")
    func originNormalization() {
        #expect(EmbeddingOrigins.normalize("https://Shop.Example/") == "https://shop.example")
        #expect(EmbeddingOrigins.normalize("https://shop.example:443") == "https://shop.example")
        #expect(EmbeddingOrigins.normalize("https://shop.example:8443") == "https://shop.example:8443")
        #expect(EmbeddingOrigins.normalize("http://localhost:4242") == "http://localhost:4242")
        #expect(EmbeddingOrigins.normalize("http://127.0.0.1:4242") == "http://127.0.0.1:4242")
        for bad in [
            "http://shop.example", "https://shop.example/pay", "https://shop.example?x=1", "javascript:alert(1)", "https://*.example", "shop.example",
            "https://user@shop.example", "", "https://shop.example#x", "https://exa mple.com",
        ] {
            #expect(EmbeddingOrigins.normalize(bad) == nil, "\(bad)")
        }
    }

    @Test("a merchant's URL becomes a CSP source only as scheme://host[:port]; anything that could add a directive is dropped")
    func cspOrigins() {
        #expect(HostedPage.origin(of: "https://Shop.example:8443/back?x=1") == "https://Shop.example:8443")
        #expect(HostedPage.origin(of: "http://localhost:4242/") == "http://localhost:4242")
        for bad in ["https://a;script-src*/", "javascript:alert(1)", "ftp://shop.example/", "https://a%3Bb/", "not a url"] {
            #expect(HostedPage.origin(of: bad) == nil, "\(bad)")
        }
    }

    @Test("a bad key on the card iframe is refused and recorded in the ledger like any failed authentication")
    func iframeKeyFailuresAreRecorded() async throws {
        try await TestGateway.with(.sqlite) { test in
            try await test.api { api in
                let refused = try await api.get("/elements/card?key=pk_test_notarealkey1234567890abcdef&origin=https://shop.example", key: nil)
                #expect(refused.status == 403 && !refused.text.contains("id=\"number\""))
            }
            try await test.gateway.ledger.sequenceAll()
            let failures = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).filter { $0.entry.action == "auth.failure" }
            #expect(failures.count == 1 && failures.first?.entry.outcome == "invalid")
        }
    }

    @Test("embedding origins: registered with the secret key only, recorded in the ledger, and they set the card frame's frame-ancestors")
    func embeddingOriginsDriveFrameAncestors() async throws {
        try await TestGateway.with(.sqlite) { test in
            let shop = try await test.merchant()
            let other = try await test.merchant("Other Shop")
            try await test.api { api in
                #expect(try await api.post("/v1/embedding_origins", key: shop.publishable, form: [("origin", "https://shop.example")]).status == 403)
                let bad = try await api.post("/v1/embedding_origins", key: shop.secret, form: [("origin", "http://shop.example")])
                #expect(bad.status == 400 && bad.error["param"] as? String == "origin")
                #expect(try await api.post("/v1/embedding_origins", key: shop.secret, form: []).status == 400)
                let added = try await api.post("/v1/embedding_origins", key: shop.secret, form: [("origin", "https://shop.example")])
                #expect(added.status == 200 && added.json["origin"] as? String == "https://shop.example")
                let again = try await api.post("/v1/embedding_origins", key: shop.secret, form: [("origin", "https://SHOP.example/")])
                #expect(again.json["id"] as? String == added.json["id"] as? String)

                let frame = try await api.get("/elements/card?key=\(shop.publishable)&origin=https://shop.example", key: nil)
                #expect(frame.status == 200)
                let policy = frame.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("frame-ancestors https://shop.example;"))
                #expect(policy.contains("script-src 'nonce-") && !policy.contains("unsafe"))
                #expect(frame.text.contains("integrity=\"\(ScriptInventory.entry(path: "/js/v1/card-field.js")!.integrity)\""))
                // Another merchant's key does not inherit the origin; an unknown origin gets no inputs.
                let foreign = try await api.get("/elements/card?key=\(other.publishable)&origin=https://shop.example", key: nil)
                #expect(foreign.status == 403 && !foreign.text.contains("id=\"number\""))
                let secret = try await api.get("/elements/card?key=\(shop.secret)&origin=https://shop.example", key: nil)
                #expect(secret.status == 403 && (secret.headers[.contentSecurityPolicy] ?? "").contains("frame-ancestors 'none'"))

                let listed = try await api.get("/v1/embedding_origins", key: shop.secret)
                #expect((listed.json["data"] as? [[String: Any]])?.count == 1)
                let id = try #require(added.json["id"] as? String)
                #expect(try await api.delete("/v1/embedding_origins/\(id)", key: other.secret).status == 404)
                #expect(try await api.delete("/v1/embedding_origins/\(id)", key: shop.secret).status == 200)
                #expect(try await api.get("/elements/card?key=\(shop.publishable)&origin=https://shop.example", key: nil).status == 403)
            }
            try await test.gateway.ledger.sequenceAll()
            let actions = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry.action)
            #expect(actions.contains("merchant.embedding_origin_added") && actions.contains("merchant.embedding_origin_removed"))
        }
    }

    @Test("the API answers CORS preflights without credentials; every response says nosniff; scripts are served only from the inventory")
    func corsAndScripts() async throws {
        try await TestGateway.with(.sqlite) { test in
            try await test.api { api in
                let preflight = try await api.client.execute(
                    uri: "/v1/payment_methods", method: .options, headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST"]
                ) { $0 }
                #expect(preflight.status.code == 204)
                #expect(preflight.headers[.accessControlAllowOrigin] == "*")
                #expect(preflight.headers[.accessControlAllowCredentials] == nil)
                #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
                let inventory = try await api.get("/js/v1/inventory.json", key: nil)
                #expect((inventory.json["scripts"] as? [[String: Any]])?.count == ScriptInventory.entries.count)
                #expect(inventory.headers[.init("X-Content-Type-Options")!] == "nosniff")
                #expect(try await api.get("/js/v1/not-in-the-inventory.js", key: nil).status == 404)
                #expect(try await api.get("/js/v1/..%2F..%2FPackage.swift", key: nil).status == 404)
            }
        }
    }
}

extension APIClient {
    func delete(_ path: String, key: String) async throws -> Reply {
        try await client.execute(uri: path, method: .delete, headers: [.authorization: "Bearer \(key)"]) { response in
            Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }
}
