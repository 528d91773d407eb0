public import KessaiCore
import SQLKit
public import Storage

/// Reads a merchant's events, newest first, with Stripe's cursor pagination.
public struct EventStore: Sendable {
    let database: KessaiDatabase

    public init(database: KessaiDatabase) {
        self.database = database
    }

    /// One page of a merchant's events.
    /// - Parameters:
    ///   - type: only events of this type, when given.
    ///   - startingAfter: the next, older page after this event; `endingBefore`: the newer page.
    /// - Returns: the events and whether there are more.
    /// - Throws: ``WebhooksError/unknownEvent(id:param:)`` when a cursor is not one of the merchant's events.
    public func list(
        merchant: MerchantID, type: String?, limit: Int, startingAfter after: EventID?, endingBefore before: EventID?
    ) async throws
        -> ([StoredEvent], Bool)
    {
        try await database.withConnection { db in
            func cursor(_ id: EventID, _ param: String) async throws -> Int64 {
                guard
                    let row = try await db.select().column("created_ms").from("events").where("id", .equal, id.rawValue)
                        .where("merchant_id", .equal, merchant.rawValue).first()
                else { throw WebhooksError.unknownEvent(id: id.rawValue, param: param) }
                return try row.decode(column: "created_ms", as: Int64.self)
            }
            var select = db.select().column("*").from("events").where("merchant_id", .equal, merchant.rawValue)
            if let type { select = select.where("type", .equal, type) }
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
    }

    /// One of a merchant's events; nil for another merchant's.
    public func find(_ id: EventID, merchant: MerchantID) async throws -> StoredEvent? {
        try await database.withConnection { db in
            try await db.select().column("*").from("events").where("id", .equal, id.rawValue).where("merchant_id", .equal, merchant.rawValue).first()
                .map { try StoredEvent.decode($0) }
        }
    }
}
