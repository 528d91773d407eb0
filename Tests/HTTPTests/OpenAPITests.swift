import Foundation
import HTTP
import KessaiTestSupport
import Testing

@Suite("The OpenAPI document describes exactly the routes the server has")
struct OpenAPITests {
    @Test("every API route is in the document with its method, and the document names no route that does not exist")
    func matchesRoutes() async throws {
        try await TestGateway.with(.sqlite) { test in
            let router = buildRouter(test.gateway)
            // Hummingbird writes parameters as :id; OpenAPI as {id}.
            let served = Set(
                router.routes.map { route -> String in
                    let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(
                        separator: "/")
                    return "\(route.method.rawValue.lowercased()) /\(path)"
                }.filter { $0.contains(" /v1/") })
            try await test.api { api in
                let reply = try await api.get("/v1/openapi.json", key: nil)
                #expect(reply.status == 200)
                #expect(reply.json["openapi"] as? String == "3.1.0")
                let paths = try #require(reply.json["paths"] as? [String: [String: Any]])
                var documented = Set<String>()
                for (path, operations) in paths {
                    for (method, operation) in operations {
                        documented.insert("\(method) \(path)")
                        let responses = (operation as? [String: Any])?["responses"] as? [String: Any]
                        #expect(responses?["200"] != nil && responses?["4XX"] != nil, "\(method) \(path) describes its answers")
                    }
                }
                #expect(served.count >= 20)
                #expect(
                    documented == served, "undocumented: \(served.subtracting(documented).sorted()); not served: \(documented.subtracting(served).sorted())")
            }
        }
    }
}
