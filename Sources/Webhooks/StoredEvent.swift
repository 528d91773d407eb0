import KessaiCore
import SQLKit

/// An event as stored: the object it carries is kept as the API showed it at that moment, and
/// its wire form is what a webhook sends (the one JSON this target writes: it is an edge too).
public struct StoredEvent: Sendable {
    public let id: String
    public let livemode: Bool
    public let type: String
    /// The object's JSON, byte for byte as recorded.
    public let data: String
    public let created: Int64
    public let pendingWebhooks: Int

    /// Stripe's `event` object. `data.object` is spliced in as stored, byte for byte.
    public var json: String {
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
