import Foundation
import HTTP
import Hummingbird
import HummingbirdTesting
import KessaiTestSupport
import NIOCore

/// Sends form-encoded requests to the router the way Stripe's libraries do, and decodes JSON.
struct APIClient {
    let client: any TestClientProtocol

    struct Reply {
        let status: Int
        let headers: HTTPFields
        let text: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    }

    static func form(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { key, value in
            "\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
    }

    func post(_ path: String, key: String?, form pairs: [(String, String)]) async throws -> Reply {
        try await post(path, key: key, raw: Self.form(pairs))
    }

    func post(_ path: String, key: String?, raw: String, contentType: String = "application/x-www-form-urlencoded") async throws -> Reply {
        var headers: HTTPFields = [.contentType: contentType]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: raw)) { response in
            Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }

    func get(_ path: String, key: String?) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await client.execute(uri: path, method: .get, headers: headers) { response in
            Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }
}

extension TestGateway {
    /// Runs `body` against this gateway's router.
    func api<T: Sendable>(_ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let app = Application(router: buildRouter(gateway), logger: logs.logger())
        return try await app.test(.router) { client in try await body(APIClient(client: client)) }
    }
}

/// A valid card form, with fields replaced or removed as a test needs.
func cardForm(_ card: TestCards.Card = TestCards.visa, replacing overrides: [String: String?] = [:]) -> [(String, String)] {
    var pairs: [(String, String)] = [
        ("type", "card"), ("card[number]", card.number), ("card[exp_month]", "12"),
        ("card[exp_year]", "2030"), ("card[cvc]", card.cvc),
    ]
    for (key, value) in overrides {
        if let index = pairs.firstIndex(where: { $0.0 == key }) {
            if let value { pairs[index].1 = value } else { pairs.remove(at: index) }
        } else if let value {
            pairs.append((key, value))
        }
    }
    return pairs
}
