import KessaiCore
import SQLKit
import Storage

/// Read-only queries the console's payment pages need beyond the merchant API's: a search over
/// all merchants, and a payment's timeline (events, acquirer attempts, webhook deliveries). Only
/// brand, last 4 and expiry of a card are ever read.
struct PaymentSearch: Sendable {
    let database: KessaiDatabase

    struct Row: Sendable {
        let id: String
        let merchant: String
        let amount: Int64
        let currency: String
        let status: String
        let brand: String?
        let last4: String?
        let created: Int64
    }

    /// Up to 100 payments, newest first, whose id, merchant id or card's last 4 is `query`
    /// (all when empty), in `status` when given; only `merchant`'s when given.
    /// More filters: the card's brand, an exact amount, a creation window (Unix seconds).
    struct Filters: Sendable {
        var brand: String? = nil
        var amount: Int64? = nil
        var from: Int64? = nil
        var to: Int64? = nil
    }

    func search(_ query: String, status: String?, merchant: String?, filters: Filters = Filters()) async throws -> [Row] {
        try await database.withConnection { db in
            var select = db.select()
                .column(SQLColumn("id", table: "p")).column(SQLColumn("merchant_id", table: "p")).column(SQLColumn("amount", table: "p"))
                .column(SQLColumn("currency", table: "p")).column(SQLColumn("status", table: "p")).column(SQLColumn("created_at", table: "p"))
                .column(SQLColumn("brand", table: "m")).column(SQLColumn("last4", table: "m"))
                .from(SQLAlias(SQLIdentifier("payment_intents"), as: SQLIdentifier("p")))
                .join(
                    SQLAlias(SQLIdentifier("payment_methods"), as: SQLIdentifier("m")), method: SQLJoinMethod.left,
                    on: SQLColumn("payment_method", table: "p"), .equal, SQLColumn("id", table: "m"))
            if let merchant { select = select.where(SQLColumn("merchant_id", table: "p"), .equal, SQLBind(merchant)) }
            if let status { select = select.where(SQLColumn("status", table: "p"), .equal, SQLBind(status)) }
            if let brand = filters.brand { select = select.where(SQLColumn("brand", table: "m"), .equal, SQLBind(brand)) }
            if let amount = filters.amount { select = select.where(SQLColumn("amount", table: "p"), .equal, SQLBind(amount)) }
            if let from = filters.from { select = select.where(SQLColumn("created_at", table: "p"), .greaterThanOrEqual, SQLBind(from)) }
            if let to = filters.to { select = select.where(SQLColumn("created_at", table: "p"), .lessThan, SQLBind(to)) }
            if !query.isEmpty {
                select = select.where {
                    $0.where(SQLColumn("id", table: "p"), .equal, SQLBind(query)).orWhere(SQLColumn("merchant_id", table: "p"), .equal, SQLBind(query))
                        .orWhere(SQLColumn("last4", table: "m"), .equal, SQLBind(query))
                }
            }
            return try await select.orderBy(SQLOrderBy(expression: SQLColumn("created_at", table: "p"), direction: SQLDirection.descending)).limit(100).all()
                .map { row in
                    Row(
                        id: try row.decode(column: "id", as: String.self), merchant: try row.decode(column: "merchant_id", as: String.self),
                        amount: try row.decode(column: "amount", as: Int64.self), currency: try row.decode(column: "currency", as: String.self),
                        status: try row.decode(column: "status", as: String.self), brand: try row.decode(column: "brand", as: String?.self),
                        last4: try row.decode(column: "last4", as: String?.self), created: try row.decode(column: "created_at", as: Int64.self))
                }
        }
    }

    /// The card of a payment: brand, last 4, expiry (never more).
    func card(_ paymentMethod: String) async throws -> (brand: String, last4: String, expiry: String)? {
        try await database.withConnection { db in
            guard
                let row = try await db.select().columns("brand", "last4", "exp_month", "exp_year").from("payment_methods")
                    .where("id", .equal, paymentMethod).first()
            else { return nil }
            let month = try row.decode(column: "exp_month", as: Int.self)
            return (
                try row.decode(column: "brand", as: String.self), try row.decode(column: "last4", as: String.self),
                "\(month < 10 ? "0" : "")\(month)/\(try row.decode(column: "exp_year", as: Int.self))"
            )
        }
    }

    /// What happened to a payment, oldest first: its events, acquirer attempts, and each
    /// webhook delivery of its events with its attempts and last status.
    func timeline(_ intent: String) async throws -> [(Int64, String)] {
        try await database.withConnection { db in
            var lines: [(Int64, String)] = []
            for row in try await db.select().columns("id", "type", "created_at").from("events").where("object_id", .equal, intent).limit(200).all() {
                lines.append(
                    (
                        try row.decode(column: "created_at", as: Int64.self),
                        "event \(try row.decode(column: "type", as: String.self)) (\(try row.decode(column: "id", as: String.self)))"
                    ))
            }
            for row in try await db.select().columns("operation", "amount", "state", "created_at").from("acquirer_attempts")
                .where("payment_intent_id", .equal, intent).limit(200).all()
            {
                lines.append(
                    (
                        try row.decode(column: "created_at", as: Int64.self),
                        "acquirer \(try row.decode(column: "operation", as: String.self)) \(try row.decode(column: "amount", as: Int64.self)): \(try row.decode(column: "state", as: String.self))"
                    ))
            }
            for row in try await db.select().column(SQLColumn("endpoint_id", table: "d")).column(SQLColumn("state", table: "d"))
                .column(SQLColumn("attempts", table: "d")).column(SQLColumn("last_status", table: "d")).column(SQLColumn("created_at", table: "d"))
                .column(SQLColumn("type", table: "e"))
                .from(SQLAlias(SQLIdentifier("webhook_deliveries"), as: SQLIdentifier("d")))
                .join(SQLAlias(SQLIdentifier("events"), as: SQLIdentifier("e")), on: SQLColumn("event_id", table: "d"), .equal, SQLColumn("id", table: "e"))
                .where(SQLColumn("object_id", table: "e"), .equal, SQLBind(intent)).limit(200).all()
            {
                let status = try row.decode(column: "last_status", as: Int?.self).map(String.init) ?? "-"
                lines.append(
                    (
                        try row.decode(column: "created_at", as: Int64.self),
                        "webhook \(try row.decode(column: "type", as: String.self)) → \(try row.decode(column: "endpoint_id", as: String.self)): \(try row.decode(column: "state", as: String.self)), \(try row.decode(column: "attempts", as: Int.self)) attempts, last HTTP \(status)"
                    ))
            }
            return lines.sorted { $0.0 < $1.0 }
        }
    }

    /// How many accounts are locked now.
    func lockedAccounts(now: Int64) async throws -> Int {
        try await database.withConnection { db in
            try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("console_users").where("locked_until", .greaterThan, now)
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}
