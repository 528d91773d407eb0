public import KessaiCore
import SQLKit
public import Storage

/// What people ask of webhook deliveries: which are failing, each one's attempts, and a resend.
/// (The sending itself is ``WebhookDeliveryService``'s.)
public struct WebhookDeliveries: Sendable {
    public struct Delivery: Sendable, Equatable {
        public let id: String
        public let merchant: MerchantID
        public let endpoint: String
        public let url: String
        public let event: String
        public let eventType: String
        /// `pending`, `delivered` or `failed` (given up).
        public let state: String
        public let attempts: Int
        public let lastStatus: Int?
        public let created: Int64
    }

    public struct Attempt: Sendable, Equatable {
        public let number: Int
        public let at: Int64
        public let statusCode: Int?
        public let error: String?
        public let milliseconds: Int64
    }

    let database: KessaiDatabase
    let clock: any KessaiClock

    public init(database: KessaiDatabase, clock: any KessaiClock) {
        self.database = database
        self.clock = clock
    }

    /// The newest deliveries (one merchant's, when given; one by id, when given), or only those
    /// tried and not delivered.
    public func list(merchant: MerchantID?, failingOnly: Bool, limit: Int = 100, id: String? = nil) async throws -> [Delivery] {
        try await database.withConnection { db in
            var select = db.select()
                .column(SQLColumn("id", table: "d")).column(SQLColumn("merchant_id", table: "d")).column(SQLColumn("endpoint_id", table: "d"))
                .column(SQLColumn("url", table: "w")).column(SQLColumn("event_id", table: "d")).column(SQLColumn("type", table: "e"))
                .column(SQLColumn("state", table: "d")).column(SQLColumn("attempts", table: "d")).column(SQLColumn("last_status", table: "d"))
                .column(SQLColumn("created_at", table: "d"))
                .from(SQLAlias(SQLIdentifier("webhook_deliveries"), as: SQLIdentifier("d")))
                .join(
                    SQLAlias(SQLIdentifier("webhook_endpoints"), as: SQLIdentifier("w")), on: SQLColumn("endpoint_id", table: "d"), .equal,
                    SQLColumn("id", table: "w")
                )
                .join(SQLAlias(SQLIdentifier("events"), as: SQLIdentifier("e")), on: SQLColumn("event_id", table: "d"), .equal, SQLColumn("id", table: "e"))
            if let merchant { select = select.where(SQLColumn("merchant_id", table: "d"), .equal, SQLBind(merchant.rawValue)) }
            if let id { select = select.where(SQLColumn("id", table: "d"), .equal, SQLBind(id)) }
            if failingOnly {
                select = select.where(SQLColumn("state", table: "d"), .notEqual, SQLBind("delivered")).where(
                    SQLColumn("attempts", table: "d"), .greaterThan, SQLBind(0))
            }
            return try await select.orderBy(SQLOrderBy(expression: SQLColumn("created_at", table: "d"), direction: SQLDirection.descending)).limit(limit)
                .all().map { row in
                    Delivery(
                        id: try row.decode(column: "id", as: String.self),
                        merchant: MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self)),
                        endpoint: try row.decode(column: "endpoint_id", as: String.self), url: try row.decode(column: "url", as: String.self),
                        event: try row.decode(column: "event_id", as: String.self), eventType: try row.decode(column: "type", as: String.self),
                        state: try row.decode(column: "state", as: String.self), attempts: try row.decode(column: "attempts", as: Int.self),
                        lastStatus: try row.decode(column: "last_status", as: Int?.self), created: try row.decode(column: "created_at", as: Int64.self))
                }
        }
    }

    /// One delivery's attempts, oldest first; `nil` when it is not the merchant's (or does not exist).
    public func attempts(_ delivery: String, merchant: MerchantID?) async throws -> (Delivery, [Attempt])? {
        guard delivery.utf8.count <= 64, let found = try await list(merchant: merchant, failingOnly: false, limit: 1, id: delivery).first
        else { return nil }
        let attempts = try await database.withConnection { db in
            try await db.select().columns("attempt", "attempted_at", "status_code", "error", "duration_ms").from("webhook_attempts")
                .where("delivery_id", .equal, delivery).orderBy("attempt").all().map { row in
                    Attempt(
                        number: try row.decode(column: "attempt", as: Int.self), at: try row.decode(column: "attempted_at", as: Int64.self),
                        statusCode: try row.decode(column: "status_code", as: Int?.self), error: try row.decode(column: "error", as: String?.self),
                        milliseconds: try row.decode(column: "duration_ms", as: Int64.self))
                }
        }
        return (found, attempts)
    }

    /// Sends a delivery again now (a delivered or given-up one; a pending one is already due).
    /// - Returns: whether it was queued; `false` for another merchant's or an unknown delivery.
    public func resend(_ delivery: String, merchant: MerchantID?) async throws -> Bool {
        guard delivery.utf8.count <= 64 else { return false }
        return try await database.withConnection { db in
            var update = db.update("webhook_deliveries").set("state", to: "pending").set("next_attempt_at", to: clock.now().unixSeconds)
                .where("id", .equal, delivery)
            if let merchant { update = update.where("merchant_id", .equal, merchant.rawValue) }
            return try await update.returning("id").first() != nil
        }
    }
}
