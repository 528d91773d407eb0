import Hummingbird
import KessaiCore
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The OpenAPI 3.1 document of the merchant API, served at `GET /v1/openapi.json`. A test
/// checks that its paths and methods are exactly the router's API routes; the end-to-end tests
/// validate it (openapi-spec-validator) and fuzz a live server with it (schemathesis).
///
/// Request schemas state the limits the server enforces (ranges, lengths, patterns, enums,
/// closed objects: unknown parameters are refused), so that every valid request is accepted and
/// every invalid one gets a 4xx.
enum OpenAPI {
    static func operations(now: Int64) -> [OpenAPIOperation] {
        OpenAPIPaymentOperations.operations + OpenAPIOtherOperations.operations(now: now)
    }

    static var schemas: JSONValue {
        guard case .object(var members) = OpenAPIObjects.all else { return OpenAPIObjects.all }
        for item in ["payment_intent", "refund", "charge", "event", "webhook_endpoint_listed", "checkout.session", "item", "embedding_origin"] {
            members.append(("\(item.replacingOccurrences(of: "_listed", with: ""))_list", OpenAPIObjects.list(of: item)))
        }
        members.append(("deleted_webhook_endpoint", OpenAPIObjects.deleted("webhook_endpoint", prefix: "we_")))
        members.append(("deleted_embedding_origin", OpenAPIObjects.deleted("embedding_origin", prefix: "eo_")))
        members.append(
            (
                "openapi_document",
                Schema.response([("openapi", Schema.constant("3.1.0")), ("info", OpenAPIObjects.openObject), ("paths", OpenAPIObjects.openObject)])
            ))
        return .object(members)
    }

    static func document(now: Int64) -> JSONValue {
        var paths: [(String, [(String, JSONValue)])] = []
        for operation in operations(now: now) {
            if let index = paths.firstIndex(where: { $0.0 == operation.path }) {
                paths[index].1.append((operation.method, operation.json))
            } else {
                paths.append((operation.path, [(operation.method, operation.json)]))
            }
        }
        return .object([
            ("openapi", "3.1.0"),
            (
                "info",
                .object([
                    ("title", "Kessai merchant API"), ("version", "1.0.0"),
                    (
                        "description",
                        "A Stripe-compatible subset: Stripe's client libraries work by changing their base URL. Requests are form-encoded with bracketed keys (card[number]=…, metadata[key]=…, list[0]=…); errors have Stripe's shape; every POST honours Idempotency-Key. expand[] takes latest_charge, payment_method and data.latest_charge on intents and line_items on checkout sessions; any other expansion is refused (400, param expand). A method a path does not have answers 405 with an Allow header."
                    ),
                ])
            ),
            ("servers", .array([.object([("url", "/")])])),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            (
                "components",
                .object([
                    ("schemas", schemas),
                    (
                        "securitySchemes",
                        .object([
                            (
                                "secretKey",
                                .object([("type", "http"), ("scheme", "bearer"), ("description", "sk_test_… / sk_live_…, from the merchant's server.")])
                            ),
                            (
                                "publishableKey",
                                .object([("type", "http"), ("scheme", "bearer"), ("description", "pk_test_… / pk_live_…, from the buyer's browser.")])
                            ),
                            ("operatorToken", .object([("type", "http"), ("scheme", "bearer"), ("description", "op_… operator token.")])),
                        ])
                    ),
                ])
            ),
        ])
    }

    static func register(on router: Router<KessaiRequestContext>) {
        router.get("/v1/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(string: document(now: Int64(Date().timeIntervalSince1970)).serialized())))
        }
    }
}
