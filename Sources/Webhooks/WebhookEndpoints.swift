import Crypto
public import KessaiCore
import SQLKit
public import Storage
public import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

/// A merchant's webhook endpoint, as the domain knows it (the API's object is built from this
/// at the HTTP edge). Its signing secret is never part of it.
public struct WebhookEndpoint: Sendable, Equatable {
    public let id: String
    public var url: String
    public var enabledEvents: [String]
    public var description: String?
    public var enabled: Bool
    public let livemode: Bool
    public let created: Int64

    static func decode(_ row: any SQLRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row.decode(column: "id", as: String.self), url: try row.decode(column: "url", as: String.self),
            enabledEvents: try row.decode(column: "enabled_events", as: String.self).split(separator: ",").map(String.init),
            description: try row.decode(column: "description", as: String?.self), enabled: try row.decode(column: "disabled", as: Int.self) == 0,
            livemode: try row.decode(column: "livemode", as: Int.self) != 0, created: try row.decode(column: "created_at", as: Int64.self))
    }
}

/// Webhook endpoints: the signing secret is made here, shown once, and kept sealed (AES-GCM
/// under a key derived from the key source's MAC key, bound to the endpoint id), never in clear.
public struct WebhookEndpoints: Sendable {
    let database: KessaiDatabase
    let keySource: any KeySource
    let clock: any KessaiClock

    public init(database: KessaiDatabase, keySource: any KeySource, clock: any KessaiClock) {
        self.database = database
        self.keySource = keySource
        self.clock = clock
    }

    func sealingKey() throws -> SymmetricKey {
        SymmetricKey(data: try keySource.mac(Data("kessai-webhook-secret-sealing-v1".utf8), purpose: .apiKeyHash))
    }

    func seal(_ secret: String, endpoint: String) throws -> String {
        guard let combined = try AES.GCM.seal(Data(secret.utf8), using: sealingKey(), authenticating: Data(endpoint.utf8)).combined else {
            throw VaultError.decryptionFailed(token: endpoint)
        }
        return combined.base64EncodedString()
    }

    /// The endpoint's signing secret, for a delivery.
    public func unseal(_ sealed: String, endpoint: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw VaultError.decryptionFailed(token: endpoint) }
        let box = try AES.GCM.SealedBox(combined: data)
        return String(decoding: try AES.GCM.open(box, using: sealingKey(), authenticating: Data(endpoint.utf8)), as: UTF8.self)
    }

    /// Registers an endpoint.
    /// - Returns: the endpoint and its signing secret, which is shown this once.
    public func create(merchant: MerchantID, livemode: Bool, url: String, events: [String], description: String?) async throws -> (WebhookEndpoint, String) {
        let id = WebhookEndpointID.random().rawValue
        let secret = "whsec_" + Base62.random(count: 32)
        let endpoint = WebhookEndpoint(
            id: id, url: url, enabledEvents: events, description: description, enabled: true, livemode: livemode, created: clock.now().unixSeconds)
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

    /// One of the merchant's endpoints (not deleted); nil for another merchant's.
    public func find(_ id: String, merchant: MerchantID) async throws -> WebhookEndpoint? {
        try await database.withConnection { db in
            try await db.select().column("*").from("webhook_endpoints").where("id", .equal, id).where("merchant_id", .equal, merchant.rawValue)
                .where("deleted_at", .is, SQLLiteral.null).first().map(WebhookEndpoint.decode)
        }
    }

    /// The merchant's endpoints, newest first.
    public func list(merchant: MerchantID, limit: Int) async throws -> ([WebhookEndpoint], Bool) {
        try await database.withConnection { db in
            let rows = try await db.select().column("*").from("webhook_endpoints").where("merchant_id", .equal, merchant.rawValue)
                .where("deleted_at", .is, SQLLiteral.null).orderBy("created_at", .descending).orderBy("id", .descending).limit(limit + 1).all()
            return (try rows.prefix(limit).map(WebhookEndpoint.decode), rows.count > limit)
        }
    }

    /// What an update changes; nil leaves a field as it is.
    public struct Changes: Sendable {
        public var url: String?
        public var enabledEvents: [String]?
        /// An empty description clears it.
        public var description: String?
        public var enabled: Bool?

        public init(url: String? = nil, enabledEvents: [String]? = nil, description: String? = nil, enabled: Bool? = nil) {
            self.url = url
            self.enabledEvents = enabledEvents
            self.description = description
            self.enabled = enabled
        }
    }

    /// Changes an endpoint. A disabled endpoint is given no new deliveries (and the ones pending
    /// for it are not sent) until it is enabled again.
    /// - Returns: the endpoint as changed; nil when the merchant has no such endpoint.
    public func update(_ id: String, merchant: MerchantID, _ changes: Changes) async throws -> WebhookEndpoint? {
        try await database.transaction { db in
            guard
                var endpoint = try await db.select().column("*").from("webhook_endpoints").where("id", .equal, id)
                    .where("merchant_id", .equal, merchant.rawValue).where("deleted_at", .is, SQLLiteral.null).for(.update).first()
                    .map(WebhookEndpoint.decode)
            else { return nil }
            if let url = changes.url { endpoint.url = url }
            if let events = changes.enabledEvents { endpoint.enabledEvents = events }
            if let description = changes.description { endpoint.description = description.isEmpty ? nil : description }
            if let enabled = changes.enabled { endpoint.enabled = enabled }
            try await db.update("webhook_endpoints").set("url", to: endpoint.url).set("enabled_events", to: endpoint.enabledEvents.joined(separator: ","))
                .set("description", to: endpoint.description).set("disabled", to: endpoint.enabled ? 0 : 1).where("id", .equal, id).run()
            return endpoint
        }
    }

    /// Deletes an endpoint; deliveries not yet made to it are dropped.
    public func delete(_ id: String, merchant: MerchantID) async throws -> Bool {
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
