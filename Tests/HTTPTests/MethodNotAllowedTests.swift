import Foundation
import HTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KessaiTestSupport
import Testing

@Suite("A known path with a method it does not have answers 405 with Allow")
struct MethodNotAllowedTests {
    func send(_ method: HTTPRequest.Method, _ path: String, _ test: TestGateway) async throws -> (Int, HTTPFields, [String: Any]) {
        let app = Application(router: buildRouter(test.gateway), logger: test.logs.logger())
        return try await app.test(.router) { client in
            try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer sk_test_nothing"]) { response in
                let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]) ?? [:]
                return (Int(response.status.code), response.headers, json)
            }
        }
    }

    @Test("PUT, PATCH and DELETE on known paths: 405, Allow naming exactly the path's methods, Stripe's error shape")
    func wrongMethods() async throws {
        try await TestGateway.with(.sqlite) { test in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.put, "/v1/payment_intents", "GET, POST"), (.delete, "/v1/payment_intents/pi_123", "GET, POST"),
                (.patch, "/v1/webhook_endpoints/we_1", "GET, POST, DELETE"), (.post, "/v1/openapi.json", "GET"),
                (.delete, "/v1/refunds", "GET, POST"), (.get, "/v1/payment_intents/pi_1/capture", "POST"),
            ]
            for (method, path, allow) in cases {
                let (status, headers, json) = try await send(method, path, test)
                #expect(status == 405, "\(method) \(path)")
                #expect(headers[.allow] == allow, "\(method) \(path)")
                let error = json["error"] as? [String: Any]
                #expect(error?["type"] as? String == "invalid_request_error")
                #expect(error?["code"] as? String == "method_not_allowed")
                #expect(headers[HTTPField.Name("Request-Id")!] != nil)
            }
        }
    }

    @Test("unknown paths stay 404, and known routes still answer")
    func unknownPaths() async throws {
        try await TestGateway.with(.sqlite) { test in
            let unknown = try await send(.put, "/v1/nothing_here", test).0
            let deeper = try await send(.get, "/v1/payment_intents/pi_1/capture/more", test).0
            let document = try await send(.get, "/v1/openapi.json", test).0
            let list = try await send(.get, "/v1/payment_intents", test).0
            #expect(unknown == 404)
            #expect(deeper == 404)
            #expect(document == 200)
            #expect(list == 401)
        }
    }
}
