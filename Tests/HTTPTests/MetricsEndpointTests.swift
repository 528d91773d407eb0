import Foundation
import HTTP
import Hummingbird
import HummingbirdTesting
import KessaiCore
import KessaiTestSupport
import Ledger
import Merchants
import Testing

@Suite("GET /metrics: who may read it, what moves, and no card data in it")
struct MetricsEndpointTests {
    /// The sum over every series of `name` carrying `labels` (others may differ: a status, an
    /// outcome). Suites run in parallel in one process and share the registry, so a series another
    /// test adds can come first; a sum only grows, a first match need not.
    static func sample(_ text: String, _ name: String, _ labels: [String: String]) -> Double {
        var total = 0.0
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let head = String(parts[0])
            if labels.allSatisfy({ head.contains("\($0.key)=\"\($0.value)\"") }) { total += value }
        }
        return total
    }

    /// Runs `body` against a server on a loopback port (the peer is 127.0.0.1).
    static func live<T: Sendable>(_ test: TestGateway, _ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let app = Application(router: buildRouter(test.gateway), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: test.logs.logger())
        return try await app.test(.live) { client in try await body(APIClient(client: client)) }
    }

    @Test("loopback (default): a loopback peer reads it; another peer only with an operator token; a bad token is 404 and recorded")
    func loopback() async throws {
        try await TestGateway.with(.sqlite) { test in
            #expect(test.gateway.configuration.metricsExposure == .loopback)
            let (_, token) = try await test.gateway.operatorTokens.create(name: "prometheus", actor: MerchantStore.localOperator)
            let shop = try await test.merchant()
            // The router's test client has no peer address: it is not loopback.
            try await test.api { api in
                let unknownPath = try await api.get("/no-such-path", key: nil)
                for key in [nil, shop.secret, "op_" + String(repeating: "x", count: 40)] {
                    let refused = try await api.get("/metrics", key: key)
                    #expect(refused.status == 404)
                    #expect(refused.text == unknownPath.text, "indistinguishable from a path that does not exist")
                }
                let allowed = try await api.get("/metrics", key: token.exposed)
                #expect(allowed.status == 200)
                #expect(allowed.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            }
            try await Self.live(test) { api in
                let local = try await api.get("/metrics", key: nil)
                #expect(local.status == 200, "\(local.text)")
                #expect(local.text.contains("kessai_http_requests_total{"))
            }
            _ = try await test.gateway.failures.flush(all: true)
            let failures = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).filter {
                $0.entry.action == "auth.failure" && $0.entry.objects["endpoint"] == "metrics"
            }
            #expect(failures.count == 2, "the secret key and the invalid operator token")
        }
    }

    @Test("operator: even a loopback peer needs a token; off: nobody")
    func operatorAndOff() async throws {
        try await TestGateway.with(.sqlite, configure: { $0.metricsExposure = .operator }) { test in
            let (_, token) = try await test.gateway.operatorTokens.create(name: "prometheus", actor: MerchantStore.localOperator)
            try await Self.live(test) { api in
                let anonymous = try await api.get("/metrics", key: nil)
                let withToken = try await api.get("/metrics", key: token.exposed)
                #expect(anonymous.status == 404)
                #expect(withToken.status == 200)
            }
        }
        try await TestGateway.with(.sqlite, configure: { $0.metricsExposure = .off }) { test in
            let (_, token) = try await test.gateway.operatorTokens.create(name: "prometheus", actor: MerchantStore.localOperator)
            try await Self.live(test) { api in
                let anonymous = try await api.get("/metrics", key: nil)
                let withToken = try await api.get("/metrics", key: token.exposed)
                #expect(anonymous.status == 404)
                #expect(withToken.status == 404)
            }
        }
    }

    @Test("a card payment moves the counters; no card number, code, key or client secret is in the text")
    func countersMove() async throws {
        try await TestGateway.with(.sqlite) { test in
            let (_, token) = try await test.gateway.operatorTokens.create(name: "prometheus", actor: MerchantStore.localOperator)
            let shop = try await test.merchant()
            try await test.api { api in
                let before = try await api.get("/metrics", key: token.exposed).text
                let method = try await api.post("/v1/payment_methods", key: shop.publishable, form: cardForm())
                let pm = try #require(method.json["id"] as? String)
                let intent = try await api.post(
                    "/v1/payment_intents", key: shop.secret, form: [("amount", "1200"), ("currency", "jpy"), ("payment_method", pm), ("confirm", "true")])
                #expect(intent.json["status"] as? String == "succeeded", "\(intent.text)")
                let id = try #require(intent.json["id"] as? String)
                let secret = try #require(intent.json["client_secret"] as? String)
                _ = try await api.get("/v1/payment_intents/\(id)?client_secret=\(secret)", key: shop.publishable)
                let after = try await api.get("/metrics", key: token.exposed).text
                let moved: [(String, [String: String])] = [
                    ("kessai_payments_total", ["method": "card", "outcome": "succeeded"]),
                    ("kessai_http_requests_total", ["route": "/v1/payment_intents", "method": "POST", "status": "200"]),
                    ("kessai_http_request_duration_seconds_count", ["route": "/v1/payment_methods", "method": "POST", "status": "200"]),
                    ("kessai_http_requests_total", ["route": "/v1/payment_intents/{id}", "method": "GET"]),
                    ("kessai_acquirer_request_duration_seconds_count", ["operation": "authorize", "outcome": "answered"]),
                    ("kessai_vault_decrypts_total", ["actor_kind": "merchant_key"]),
                ]
                for (name, labels) in moved {
                    #expect(Self.sample(after, name, labels) > Self.sample(before, name, labels), "\(name) \(labels) did not move")
                }
                #expect(!after.contains(id), "ids of objects are not labels: routes are templates")
                for forbidden in TestCards.all.flatMap({ [$0.number] }) + [shop.secret, shop.publishable, secret, token.exposed, "client_secret"] {
                    #expect(!after.contains(forbidden), "\(forbidden) in /metrics")
                }
            }
        }
    }

    @Test("label values come from closed lists: a card number passed as one is recorded as other")
    func closedLabels() {
        PrometheusMetrics.bootstrap()
        let number = TestCards.visa.number
        #expect(KessaiMetrics.label(number, in: KessaiMetrics.paymentMethods) == "other")
        #expect(KessaiMetrics.label("card", in: KessaiMetrics.paymentMethods) == "card")
        KessaiMetrics.payment(method: number, outcome: number)
        KessaiMetrics.vaultDecrypt(actorKind: number)
        KessaiMetrics.webhookDelivered(outcome: number)
        KessaiMetrics.acquirerCall(operation: number, succeeded: true, duration: .milliseconds(1))
        KessaiMetrics.httpRequest(route: "unmatched", method: number, status: 200, duration: .milliseconds(1))
        let text = String(decoding: PrometheusMetrics.exposition(), as: UTF8.self)
        #expect(!text.contains(number))
        #expect(Self.sample(text, "kessai_payments_total", ["method": "other", "outcome": "other"]) >= 1)
    }
}
