import Hummingbird
import KessaiCore
import Payments
import Webhooks

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/v1/webhook_endpoints`: register, list, retrieve, update (url, events, description,
/// disable) and delete a merchant's endpoints. The signing secret is shown once, at creation.
struct WebhookEndpointsController: Sendable {
    let endpoints: WebhookEndpoints
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let development: Bool
    /// Endpoint URLs naming a non-public address are refused (``Webhooks/WebhookAddress``).
    let publicAddressesOnly: Bool

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/webhook_endpoints", use: create)
        router.get("/v1/webhook_endpoints", use: list)
        router.get("/v1/webhook_endpoints/:id", use: retrieve)
        router.post("/v1/webhook_endpoints/:id", use: update)
        router.delete("/v1/webhook_endpoints/:id", use: delete)
    }

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["url", "enabled_events", "description", "metadata", "api_version", "expand"])
            let url = try url(parameters.requiredString("url"))
            guard let events = try Self.events(parameters) else { throw APIError.missing("enabled_events") }
            let description = try BillingDetailsInput.text(parameters, "description", maximum: 500)
            _ = try MetadataInput.parse(parameters.object("metadata"))
            let (endpoint, secret) = try await endpoints.create(
                merchant: key.merchant, livemode: key.livemode, url: url, events: events, description: description)
            context.logger.info("webhook endpoint created", metadata: ["webhook_endpoint": "\(endpoint.id)", "merchant": "\(key.merchant)"])
            return WebhookEndpointDTO(endpoint: endpoint).json(secret: secret)
        }
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "expand"])
        let limit = try query.integer("limit", maximumDigits: 3) ?? 10
        guard (1...100).contains(limit) else { throw APIError.invalid("limit", "limit must be between 1 and 100.") }
        let (list, hasMore) = try await endpoints.list(merchant: key.merchant, limit: limit)
        return JSONResponse.make(ListDTO.make(list.map { WebhookEndpointDTO(endpoint: $0).json() }, hasMore: hasMore, url: "/v1/webhook_endpoints"))
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let id = try Self.id(context)
        guard let endpoint = try await endpoints.find(id, merchant: key.merchant) else { throw APIError.notFound("webhook_endpoint", id: id) }
        return JSONResponse.make(WebhookEndpointDTO(endpoint: endpoint).json())
    }

    @Sendable func update(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try Self.id(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["url", "enabled_events", "description", "disabled", "metadata", "expand"])
            var changes = WebhookEndpoints.Changes()
            if let url = try parameters.string("url") { changes.url = try self.url(url) }
            changes.enabledEvents = try Self.events(parameters)
            if parameters.has("description") { changes.description = try BillingDetailsInput.text(parameters, "description", maximum: 500) ?? "" }
            if let disabled = try PaymentIntentsController.boolean(parameters, "disabled") { changes.enabled = !disabled }
            _ = try MetadataInput.parse(parameters.object("metadata"))
            guard let endpoint = try await endpoints.update(id, merchant: key.merchant, changes) else { throw APIError.notFound("webhook_endpoint", id: id) }
            context.logger.info("webhook endpoint updated", metadata: ["webhook_endpoint": "\(endpoint.id)", "enabled": "\(endpoint.enabled)"])
            return WebhookEndpointDTO(endpoint: endpoint).json()
        }
    }

    @Sendable func delete(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let id = try Self.id(context)
        guard try await endpoints.delete(id, merchant: key.merchant) else { throw APIError.notFound("webhook_endpoint", id: id) }
        return JSONResponse.make(.object([("id", .string(id)), ("object", "webhook_endpoint"), ("deleted", true)]))
    }

    // MARK: Parameters

    static func id(_ context: KessaiRequestContext) throws -> String {
        let raw = try context.parameters.require("id")
        guard WebhookEndpointID(parsing: raw) != nil else { throw APIError.notFound("webhook_endpoint", id: String(raw.prefix(64))) }
        return raw
    }

    /// An endpoint URL: absolute https (http too in development), and in production never a
    /// non-public address written literally (the name is checked again at every delivery).
    func url(_ url: String) throws -> String {
        guard Self.wellFormed(url, development: development) else {
            throw APIError.invalid(
                "url", development ? "url must be an absolute http or https URL." : "url must be an absolute https URL.", code: "url_invalid")
        }
        if publicAddressesOnly, let host = URL(string: url)?.host, WebhookAddress.isRefusedOutright(host) {
            throw APIError.invalid("url", "url must point to a public internet address, not to this machine or a private network.", code: "url_invalid")
        }
        return url
    }

    /// An absolute https URL (http too in development) that ``URLRule`` accepts.
    static func wellFormed(_ url: String, development: Bool) -> Bool {
        guard URLRule.accepts(url), let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), parsed.host != nil else { return false }
        return scheme == "https" || (scheme == "http" && development)
    }

    /// Whether a URL may be a webhook endpoint (the console asks the same question).
    static func acceptable(_ url: String, development: Bool, publicAddressesOnly: Bool) -> Bool {
        guard wellFormed(url, development: development) else { return false }
        if publicAddressesOnly, let host = URL(string: url)?.host, WebhookAddress.isRefusedOutright(host) { return false }
        return true
    }

    /// `enabled_events[]`: `*` or known event types, without repeats; nil when absent.
    static func events(_ parameters: Parameters) throws -> [String]? {
        guard parameters.has("enabled_events") else { return nil }
        guard let list = try parameters.object("enabled_events"), !list.isEmpty else { throw APIError.missing("enabled_events") }
        guard list.entries.count <= 20 else { throw APIError.invalid("enabled_events", "enabled_events takes at most 20 entries.") }
        var events: [String] = []
        for (name, value) in list.entries {
            guard case .string(let type) = value, type == "*" || EventsController.eventTypes.contains(type) else {
                throw APIError.invalid(list.name(name), "Invalid enabled_events: use * or event types such as payment_intent.succeeded.")
            }
            guard !events.contains(type) else { throw APIError.invalid(list.name(name), "enabled_events lists \(type) more than once.") }
            events.append(type)
        }
        return events
    }
}

/// Stripe's `webhook_endpoint` object. The secret appears only in the answer to the creation.
struct WebhookEndpointDTO {
    let endpoint: WebhookEndpoint

    func json(secret: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(endpoint.id)), ("object", "webhook_endpoint"), ("api_version", nil), ("application", nil), ("created", .int(endpoint.created)),
            ("description", .optional(endpoint.description)), ("enabled_events", .array(endpoint.enabledEvents.map(JSONValue.string))),
            ("livemode", .bool(endpoint.livemode)), ("metadata", .object([])),
        ]
        if let secret { members.append(("secret", .string(secret))) }
        members.append(contentsOf: [("status", .string(endpoint.enabled ? "enabled" : "disabled")), ("url", .string(endpoint.url))])
        return .object(members)
    }
}
