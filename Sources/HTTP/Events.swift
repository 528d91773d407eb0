import AsyncHTTPClient
import Crypto
import Hummingbird
import KessaiCore
import Logging
import NIOCore
import Payments
import SQLKit
import ServiceLifecycle
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Records each payment event, with the object as the API shows it at that moment, and queues
/// one delivery per matching webhook endpoint, in the transaction that made the change.
struct EventRecorder: PaymentEventSink {
    let publicURL: String
    let clock: any KessaiClock

    func record(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) async throws {
        try await db.runWrites(writes(type, intent: intent, on: db))
    }

    func writes(_ type: PaymentEventType, intent: PaymentIntent, on db: any SQLDatabase) -> [any SQLExpression] {
        writes(
            type, merchant: intent.merchant, livemode: intent.livemode, objectID: intent.id.rawValue,
            object: PaymentIntentDTO(intent: intent, publicURL: publicURL).json, on: db)
    }

    func record(_ type: PaymentEventType, refund: Refund, livemode: Bool, on db: any SQLDatabase) async throws {
        try await record(type, merchant: refund.merchant, livemode: livemode, objectID: refund.id.rawValue, object: RefundDTO(refund: refund).json, on: db)
    }

    func record(
        _ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue, on db: any SQLDatabase
    ) async throws {
        try await db.runWrites(writes(type, merchant: merchant, livemode: livemode, objectID: objectID, object: object, on: db))
    }

    func batchValues(_ type: PaymentEventType, intent: PaymentIntent) -> EventValues {
        values(
            type, merchant: intent.merchant, livemode: intent.livemode, objectID: intent.id.rawValue,
            object: PaymentIntentDTO(intent: intent, publicURL: publicURL).json)
    }

    /// Two statements: the event, and one delivery for each of the merchant's live endpoints
    /// that takes this type (``DeliveriesInsert``).
    func writes(
        _ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue, on db: any SQLDatabase
    ) -> [any SQLExpression] {
        let values = values(type, merchant: merchant, livemode: livemode, objectID: objectID, object: object)
        return [ConstantExpression(EventInsert.self, values.event), ConstantExpression(DeliveriesInsert.self, values.deliveries)]
    }

    func values(_ type: PaymentEventType, merchant: MerchantID, livemode: Bool, objectID: String, object: JSONValue) -> EventValues {
        let now = clock.now()
        let id = EventID.random()
        return EventValues(
            event: [
                .text(id.rawValue), .text(merchant.rawValue), .flag(livemode), .text(type.rawValue), .text(objectID), .text(object.serialized()),
                .integer(now.unixSeconds), .integer(Int64(now.timeIntervalSince1970 * 1000)),
            ],
            deliveries: [
                .text(WebhookDeliveryID.random().rawValue + "_"), .text(id.rawValue), .integer(now.unixSeconds), .text(merchant.rawValue),
                .text("%," + Self.likeEscaped(type.rawValue) + ",%"),
            ])
    }

    /// `text` matched literally by `LIKE … ESCAPE '!'` (event types hold `_`).
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "!" || character == "%" || character == "_" { escaped.append("!") }
            escaped.append(character)
        }
        return escaped
    }
}

/// A stored event, for the API and for delivery.
struct StoredEvent: Sendable {
    let id: String
    let livemode: Bool
    let type: String
    let data: String
    let created: Int64
    let pendingWebhooks: Int

    /// Stripe's `event` object. `data.object` is spliced in as stored, byte for byte.
    var json: String {
        let head = JSONValue.object([("id", .string(id)), ("object", "event"), ("api_version", "2024-06-20"), ("created", .int(created))]).serialized()
        let tail = JSONValue.object([
            ("livemode", .bool(livemode)), ("pending_webhooks", .int(Int64(pendingWebhooks))), ("request", .object([("id", nil), ("idempotency_key", nil)])),
            ("type", .string(type)),
        ]).serialized()
        return String(head.dropLast()) + ",\"data\":{\"object\":" + data + "}," + String(tail.dropFirst())
    }

    static func decode(_ row: any SQLRow, pending: Int = 0) throws -> StoredEvent {
        StoredEvent(
            id: try row.decode(column: "id", as: String.self), livemode: try row.decode(column: "livemode", as: Int.self) != 0,
            type: try row.decode(column: "type", as: String.self), data: try row.decode(column: "data", as: String.self),
            created: try row.decode(column: "created_at", as: Int64.self), pendingWebhooks: pending)
    }
}

/// Webhook endpoints: the signing secret is made here, shown once, and kept sealed (AES-GCM
/// under a key derived from the key source's MAC key, bound to the endpoint id), never in clear.
struct WebhookEndpoints: Sendable {
    let database: KessaiDatabase
    let keySource: any KeySource
    let clock: any KessaiClock

    func sealingKey() throws -> SymmetricKey {
        SymmetricKey(data: try keySource.mac(Data("kessai-webhook-secret-sealing-v1".utf8), purpose: .apiKeyHash))
    }

    func seal(_ secret: String, endpoint: String) throws -> String {
        try AES.GCM.seal(Data(secret.utf8), using: sealingKey(), authenticating: Data(endpoint.utf8)).combined!.base64EncodedString()
    }

    func unseal(_ sealed: String, endpoint: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw VaultError.decryptionFailed(token: endpoint) }
        let box = try AES.GCM.SealedBox(combined: data)
        return String(decoding: try AES.GCM.open(box, using: sealingKey(), authenticating: Data(endpoint.utf8)), as: UTF8.self)
    }

    struct Endpoint: Sendable {
        let id: String
        let url: String
        let enabledEvents: [String]
        let description: String?
        let livemode: Bool
        let created: Int64

        func json(secret: String? = nil) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("id", .string(id)), ("object", "webhook_endpoint"), ("api_version", nil), ("application", nil), ("created", .int(created)),
                ("description", .optional(description)), ("enabled_events", .array(enabledEvents.map(JSONValue.string))), ("livemode", .bool(livemode)),
                ("metadata", .object([])),
            ]
            if let secret { members.append(("secret", .string(secret))) }
            members.append(contentsOf: [("status", "enabled"), ("url", .string(url))])
            return .object(members)
        }

        static func decode(_ row: any SQLRow) throws -> Endpoint {
            Endpoint(
                id: try row.decode(column: "id", as: String.self), url: try row.decode(column: "url", as: String.self),
                enabledEvents: try row.decode(column: "enabled_events", as: String.self).split(separator: ",").map(String.init),
                description: try row.decode(column: "description", as: String?.self), livemode: try row.decode(column: "livemode", as: Int.self) != 0,
                created: try row.decode(column: "created_at", as: Int64.self))
        }
    }

    func create(merchant: MerchantID, livemode: Bool, url: String, events: [String], description: String?) async throws -> (Endpoint, String) {
        let id = WebhookEndpointID.random().rawValue
        let secret = "whsec_" + Base62.random(count: 32)
        let endpoint = Endpoint(id: id, url: url, enabledEvents: events, description: description, livemode: livemode, created: clock.now().unixSeconds)
        let sealed = try seal(secret, endpoint: id)
        try await database.withConnection { db in
            try await db.insert(into: "webhook_endpoints")
                .columns("id", "merchant_id", "livemode", "url", "enabled_events", "description", "sealed_secret", "created_at")
                .values(
                    SQLBind(id), SQLBind(merchant.rawValue), SQLBind(livemode ? 1 : 0), SQLBind(url), SQLBind(events.joined(separator: ",")),
                    SQLBind(description), SQLBind(sealed), SQLBind(endpoint.created)
                ).run()
        }
        return (endpoint, secret)
    }

    func find(_ id: String, merchant: MerchantID) async throws -> Endpoint? {
        try await database.withConnection { db in
            try await db.select().column("*").from("webhook_endpoints").where("id", .equal, id).where("merchant_id", .equal, merchant.rawValue)
                .where("deleted_at", .is, SQLLiteral.null).first().map(Endpoint.decode)
        }
    }

    func list(merchant: MerchantID, limit: Int) async throws -> ([Endpoint], Bool) {
        try await database.withConnection { db in
            let rows = try await db.select().column("*").from("webhook_endpoints").where("merchant_id", .equal, merchant.rawValue)
                .where("deleted_at", .is, SQLLiteral.null).orderBy("created_at", .descending).orderBy("id", .descending).limit(limit + 1).all()
            return (try rows.prefix(limit).map(Endpoint.decode), rows.count > limit)
        }
    }

    /// Deletes an endpoint; deliveries not yet made to it are dropped.
    func delete(_ id: String, merchant: MerchantID) async throws -> Bool {
        let now = clock.now().unixSeconds
        return try await database.transaction { db in
            guard
                try await db.select().column("id").from("webhook_endpoints").where("id", .equal, id).where("merchant_id", .equal, merchant.rawValue)
                    .where("deleted_at", .is, SQLLiteral.null).first() != nil
            else { return false }
            try await db.update("webhook_endpoints").set("deleted_at", to: now).where("id", .equal, id).run()
            try await db.update("webhook_deliveries").set("state", to: "failed").set("last_error", to: "endpoint deleted").where("endpoint_id", .equal, id)
                .where("state", .equal, "pending").run()
            return true
        }
    }
}

/// `GET /v1/events`, `GET /v1/events/{id}`, and `/v1/webhook_endpoints`.
struct EventsController: Sendable {
    let database: KessaiDatabase
    let endpoints: WebhookEndpoints
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let development: Bool
    /// Endpoint URLs naming a non-public address are refused (``WebhookAddress``).
    let publicAddressesOnly: Bool

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/v1/events", use: listEvents)
        router.get("/v1/events/:id", use: retrieveEvent)
        router.post("/v1/webhook_endpoints", use: createEndpoint)
        router.get("/v1/webhook_endpoints", use: listEndpoints)
        router.get("/v1/webhook_endpoints/:id", use: retrieveEndpoint)
        router.delete("/v1/webhook_endpoints/:id", use: deleteEndpoint)
    }

    static let eventTypes = Set(PaymentEventType.allCases.map(\.rawValue))

    @Sendable func listEvents(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "starting_after", "ending_before", "type", "expand"])
        let (limit, after, before) = try ListParameters.parse(query, EventID.self)
        let type = try query.string("type")
        if let type, !type.isEmpty, !Self.eventTypes.contains(type) {
            throw APIError.invalid("type", "Unknown event type: \(type.prefix(60)).")
        }
        let (events, hasMore) = try await database.withConnection { db -> ([StoredEvent], Bool) in
            func cursor(_ id: EventID, _ param: String) async throws -> Int64 {
                guard
                    let row = try await db.select().column("created_ms").from("events").where("id", .equal, id.rawValue)
                        .where("merchant_id", .equal, key.merchant.rawValue).first()
                else { throw APIError.notFound("event", id: id.rawValue, param: param) }
                return try row.decode(column: "created_ms", as: Int64.self)
            }
            var select = db.select().column("*").from("events").where("merchant_id", .equal, key.merchant.rawValue)
            if let type, !type.isEmpty { select = select.where("type", .equal, type) }
            if let after {
                let ms = try await cursor(after, "starting_after")
                select = select.where {
                    $0.where("created_ms", .lessThan, ms).orWhere { $0.where("created_ms", .equal, ms).where("id", .lessThan, after.rawValue) }
                }
                .orderBy("created_ms", .descending).orderBy("id", .descending)
            } else if let before {
                let ms = try await cursor(before, "ending_before")
                select = select.where {
                    $0.where("created_ms", .greaterThan, ms).orWhere { $0.where("created_ms", .equal, ms).where("id", .greaterThan, before.rawValue) }
                }
                .orderBy("created_ms", .ascending).orderBy("id", .ascending)
            } else {
                select = select.orderBy("created_ms", .descending).orderBy("id", .descending)
            }
            let rows = try await select.limit(limit + 1).all()
            var events = try rows.prefix(limit).map { try StoredEvent.decode($0) }
            if before != nil { events.reverse() }
            return (events, rows.count > limit)
        }
        let body = "{\"object\":\"list\",\"data\":[" + events.map(\.json).joined(separator: ",") + "],\"has_more\":\(hasMore),\"url\":\"/v1/events\"}"
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    @Sendable func retrieveEvent(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        try reader.query(request).allowOnly(["expand"])
        let raw = try context.parameters.require("id")
        guard let id = EventID(parsing: raw),
            let event = try await database.withConnection({ db in
                try await db.select().column("*").from("events").where("id", .equal, id.rawValue).where("merchant_id", .equal, key.merchant.rawValue).first()
                    .map { try StoredEvent.decode($0) }
            })
        else { throw APIError.notFound("event", id: String(raw.prefix(64))) }
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: event.json)))
    }

    @Sendable func createEndpoint(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["url", "enabled_events", "description", "metadata", "api_version", "expand"])
            let url = try parameters.requiredString("url")
            guard url.utf8.count <= 2048, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), parsed.host != nil,
                scheme == "https" || (scheme == "http" && development)
            else {
                throw APIError.invalid(
                    "url", development ? "url must be an absolute http or https URL." : "url must be an absolute https URL.", code: "url_invalid")
            }
            if publicAddressesOnly, let host = parsed.host, WebhookAddress.isRefusedOutright(host) {
                throw APIError.invalid("url", "url must point to a public internet address, not to this machine or a private network.", code: "url_invalid")
            }
            guard let list = try parameters.object("enabled_events"), !list.isEmpty else { throw APIError.missing("enabled_events") }
            var events: [String] = []
            for (name, value) in list.entries {
                guard case .string(let type) = value, type == "*" || Self.eventTypes.contains(type) else {
                    throw APIError.invalid(list.name(name), "Invalid enabled_events: use * or event types such as payment_intent.succeeded.")
                }
                if !events.contains(type) { events.append(type) }
            }
            let description = try BillingDetailsInput.text(parameters, "description", maximum: 500)
            _ = try MetadataInput.parse(parameters.object("metadata"))
            let (endpoint, secret) = try await endpoints.create(
                merchant: key.merchant, livemode: key.livemode, url: url, events: events, description: description)
            context.logger.info("webhook endpoint created", metadata: ["webhook_endpoint": "\(endpoint.id)", "merchant": "\(key.merchant)"])
            return endpoint.json(secret: secret)
        }
    }

    @Sendable func listEndpoints(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "expand"])
        let limit = try query.integer("limit", maximumDigits: 3) ?? 10
        guard (1...100).contains(limit) else { throw APIError.invalid("limit", "limit must be between 1 and 100.") }
        let (list, hasMore) = try await endpoints.list(merchant: key.merchant, limit: limit)
        return JSONResponse.make(ListDTO.make(list.map { $0.json() }, hasMore: hasMore, url: "/v1/webhook_endpoints"))
    }

    @Sendable func retrieveEndpoint(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let raw = try context.parameters.require("id")
        guard WebhookEndpointID(parsing: raw) != nil, let endpoint = try await endpoints.find(raw, merchant: key.merchant) else {
            throw APIError.notFound("webhook_endpoint", id: String(raw.prefix(64)))
        }
        return JSONResponse.make(endpoint.json())
    }

    @Sendable func deleteEndpoint(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let raw = try context.parameters.require("id")
        guard WebhookEndpointID(parsing: raw) != nil, try await endpoints.delete(raw, merchant: key.merchant) else {
            throw APIError.notFound("webhook_endpoint", id: String(raw.prefix(64)))
        }
        return JSONResponse.make(.object([("id", .string(raw)), ("object", "webhook_endpoint"), ("deleted", true)]))
    }
}

/// Delivers queued webhook events: claims due deliveries (a claim moves `next_attempt_at` ahead
/// as a lease, so two processes never send the same attempt), POSTs the event signed with
/// `Kessai-Signature: t=…,v1=…` (HMAC-SHA256 over "t.body", Stripe's scheme), records every
/// attempt, and retries with exponential backoff (1 minute doubling, at most 6 hours apart) for
/// up to 3 days.
struct WebhookDeliveryService: Service {
    let database: KessaiDatabase
    let endpoints: WebhookEndpoints
    let clock: any KessaiClock
    let logger: Logger
    /// The first retry delay; it doubles after each failure.
    let retryBase: TimeInterval
    /// Send only to public internet addresses, each checked at delivery and connected to as
    /// checked (``WebhookAddress``); otherwise through one shared client.
    let publicAddressesOnly: Bool
    static let giveUpAfter: TimeInterval = 3 * 24 * 3600
    static let lease: Int64 = 60

    func run() async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: Self.clientConfiguration())
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var sent = 0
            do {
                // At shutdown, attempts under way are abandoned; their lease runs out and any
                // process sends them again.
                sent = try await cancelWhenGracefulShutdown { try await deliverDue(client: client) }
            } catch is CancellationError {
                break
            } catch {
                logger.error("webhook delivery round failed", metadata: ["error": "\(error)"])
            }
            if sent == 0 { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) } }
        }
        try? await client.shutdown()
    }

    struct Due: Sendable {
        let delivery: String
        let endpoint: String
        let url: String
        let sealedSecret: String
        let event: StoredEvent
        let attempt: Int
        let created: Int64
    }

    /// Sends every due delivery once; returns how many were attempted.
    func deliverDue(client: HTTPClient) async throws -> Int {
        let now = clock.now().unixSeconds
        let due = try await database.transaction { db -> [Due] in
            let rows = try await db.select().columns("id", "endpoint_id", "event_id", "attempts", "created_at").from("webhook_deliveries")
                .where("state", .equal, "pending").where("next_attempt_at", .lessThanOrEqual, now).orderBy("next_attempt_at").limit(20).for(.update).all()
            var due: [Due] = []
            for row in rows {
                let id = try row.decode(column: "id", as: String.self)
                try await db.update("webhook_deliveries").set("next_attempt_at", to: now + Self.lease).where("id", .equal, id).run()
                guard
                    let endpoint = try await db.select().columns("url", "sealed_secret").from("webhook_endpoints")
                        .where("id", .equal, try row.decode(column: "endpoint_id", as: String.self)).first(),
                    let event = try await db.select().column("*").from("events").where("id", .equal, try row.decode(column: "event_id", as: String.self))
                        .first()
                else { continue }
                due.append(
                    Due(
                        delivery: id, endpoint: try row.decode(column: "endpoint_id", as: String.self),
                        url: try endpoint.decode(column: "url", as: String.self),
                        sealedSecret: try endpoint.decode(column: "sealed_secret", as: String.self), event: try StoredEvent.decode(event, pending: 1),
                        attempt: try row.decode(column: "attempts", as: Int.self) + 1, created: try row.decode(column: "created_at", as: Int64.self)))
            }
            return due
        }
        await withTaskGroup(of: Void.self) { group in
            for item in due {
                group.addTask { await deliver(item, client: client) }
            }
        }
        return due.count
    }

    func deliver(_ due: Due, client: HTTPClient) async {
        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        do {
            let secret = try endpoints.unseal(due.sealedSecret, endpoint: due.endpoint)
            let body = due.event.json
            let timestamp = clock.now().unixSeconds
            var request = HTTPClientRequest(url: due.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.headers.add(name: "User-Agent", value: "Kessai/1.0 (+webhooks)")
            request.headers.add(name: "Kessai-Signature", value: Self.signature(body: body, secret: secret, timestamp: timestamp))
            request.body = .bytes(ByteBuffer(string: body))
            let code = try await publicAddressesOnly ? Self.sendPinned(request, url: due.url) : Self.send(request, client: client)
            status = code
            if !(200..<300).contains(code) { failure = "HTTP \(code)" }
        } catch let refused as WebhookAddress.Refused {
            failure = "refused: \(refused.description)"
        } catch {
            failure = String(String(describing: error).prefix(300))
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let now = clock.now().unixSeconds
        let delay = min(retryBase * Double(1 << min(due.attempt - 1, 20)), 6 * 3600)
        let giveUp = Double(now) + delay > Double(due.created) + Self.giveUpAfter
        let state = failure == nil ? "delivered" : (giveUp ? "failed" : "pending")
        let (code, error) = (status, failure)
        do {
            try await database.transaction { db in
                try await db.insert(into: "webhook_attempts").columns("delivery_id", "attempt", "attempted_at", "status_code", "error", "duration_ms")
                    .values(SQLBind(due.delivery), SQLBind(due.attempt), SQLBind(now), SQLBind(code), SQLBind(error), SQLBind(milliseconds)).run()
                var update = db.update("webhook_deliveries").set("attempts", to: due.attempt).set("state", to: state).set("last_status", to: code)
                    .set("last_error", to: error)
                if error == nil {
                    update = update.set("delivered_at", to: now)
                } else {
                    update = update.set("next_attempt_at", to: now + Int64(delay))
                }
                try await update.where("id", .equal, due.delivery).run()
            }
        } catch {
            logger.error("recording a webhook attempt failed", metadata: ["delivery": "\(due.delivery)", "error": "\(error)"])
        }
        logger.info(
            "webhook attempt",
            metadata: [
                "delivery": "\(due.delivery)", "event": "\(due.event.id)", "type": "\(due.event.type)", "attempt": "\(due.attempt)",
                "status": "\(status.map(String.init) ?? "none")", "state": "\(state)",
            ])
    }

    /// Sends a request; its status code (the body is read, up to 4 KiB, and dropped).
    static func send(_ request: HTTPClientRequest, client: HTTPClient) async throws -> Int {
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try? await response.body.collect(upTo: 4096)
        return Int(response.status.code)
    }

    /// Sends a request to the public address its host resolves to, checked
    /// (``WebhookAddress/checked(_:port:)``), through a client pinned to that address: TLS
    /// still verifies the certificate for the host's name.
    /// - Throws: ``WebhookAddress/Refused`` when the host is not public.
    static func sendPinned(_ request: HTTPClientRequest, url: String) async throws -> Int {
        guard let parsed = URL(string: url), let host = parsed.host, let scheme = parsed.scheme?.lowercased() else {
            throw WebhookAddress.Refused(description: "the url has no host")
        }
        let address = try await WebhookAddress.checked(host, port: parsed.port ?? (scheme == "https" ? 443 : 80))
        var configuration = clientConfiguration()
        configuration.dnsOverride = [host: address]
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let code = try await send(request, client: client)
            try? await client.shutdown()
            return code
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// No redirects (a redirect could lead anywhere), 5 s to connect, 10 s to answer.
    static func clientConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        // A refused connection is a failed attempt, retried on the delivery schedule, not in a
        // tight loop inside one attempt.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// `t=…,v1=…` with v1 = hex(HMAC-SHA256(secret, "t.body")).
    static func signature(body: String, secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=\(Hex.encode(Data(mac)))"
    }
}
