import Acquiring
import KessaiCore
import Logging
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CardPayments {
    static func locked(_ id: PaymentIntentID, merchant: MerchantID, on db: any SQLDatabase) async throws -> PaymentIntent {
        guard
            let row = try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue)
                .where("merchant_id", .equal, merchant.rawValue).for(.update).first(decoding: PaymentIntentRow.self)
        else { throw PaymentsError.notFound("payment_intent", id: id.rawValue, param: "intent") }
        return try row.domain()
    }

    static func save(_ intent: PaymentIntent, on db: any SQLDatabase) async throws {
        try await db.runWrites([try saving(intent, on: db)])
    }

    /// The update ``save(_:on:)`` runs, for a batch of writes.
    static func saving(_ intent: PaymentIntent, on db: any SQLDatabase) throws -> any SQLExpression {
        try db.update("payment_intents").set(model: PaymentIntentRow(intent), nilEncodingStrategy: .asNil).where("id", .equal, intent.id.rawValue).query
    }

    static func charge(_ id: ChargeID, on db: any SQLDatabase) async throws -> Charge? {
        try await db.select().column("*").from("charges").where("id", .equal, id.rawValue).first(decoding: ChargeRow.self)?.domain()
    }

    static func refund(_ id: RefundID, merchant: MerchantID, on db: any SQLDatabase) async throws -> Refund? {
        try await db.select().column("*").from("refunds").where("id", .equal, id.rawValue).where("merchant_id", .equal, merchant.rawValue)
            .first(decoding: RefundRow.self)?.domain()
    }

    /// The expiry of a merchant's card payment method; `resource_missing` on `payment_method`
    /// when it is not the merchant's.
    static func cardExpiry(_ method: PaymentMethodID, merchant: MerchantID, on db: any SQLDatabase) async throws -> (Int, Int) {
        guard let row = try await db.rows(CardStatements.Expiry.self, [.text(method.rawValue), .text(merchant.rawValue)]).first else {
            throw PaymentsError.notFound("PaymentMethod", id: method.rawValue, param: "payment_method")
        }
        return (Int(try row.integer(0)), Int(try row.integer(1)))
    }

    static func insertAttempt(
        _ attempt: AttemptID, intent: PaymentIntent, operation: String, amount: Int64, refund: RefundID?, now: Date, on db: any SQLDatabase
    ) async throws {
        try await db.runWrites([attemptInsert(attempt, intent: intent, operation: operation, amount: amount, refund: refund, now: now, on: db)])
    }

    /// The insert ``insertAttempt(_:intent:operation:amount:refund:now:on:)`` runs, for a batch.
    static func attemptInsert(
        _ attempt: AttemptID, intent: PaymentIntent, operation: String, amount: Int64, refund: RefundID?, now: Date, on db: any SQLDatabase
    ) -> any SQLExpression {
        ConstantExpression(
            CardStatements.AttemptInsert.self,
            CardStatements.attempt(attempt, intent: intent, operation: operation, amount: amount, refund: refund, now: now))
    }

    /// Moves a pending attempt to its final state; `false` when it was settled already. One
    /// conditional update: the row lock it takes serializes two settlers of the same attempt.
    static func claimAttempt(_ attempt: AttemptID, succeeded: Bool, now: Date, on db: any SQLDatabase) async throws -> Bool {
        try await db.update("acquirer_attempts").set("state", to: succeeded ? "succeeded" : "failed").set("completed_at", to: now.unixSeconds)
            .where("id", .equal, attempt.rawValue).where("state", .equal, "pending").returning("id").all().count == 1
    }

    /// Stripe's list paging over `(created_at, id)`, newest first.
    static func page<Row: Decodable & Sendable, Item: Sendable>(
        table: String, object: String, merchant: MerchantID, limit: Int, startingAfter: String?, endingBefore: String?,
        filter: (String, String)? = nil, created: CreatedRange = CreatedRange(),
        database: KessaiDatabase, decoding: Row.Type, map: @Sendable @escaping (Row) throws -> Item
    ) async throws -> ([Item], hasMore: Bool) {
        try await database.withConnection { db in
            func cursor(_ id: String, param: String) async throws -> Int64 {
                guard
                    let row = try await db.select().column("created_at").from(table).where("id", .equal, id).where("merchant_id", .equal, merchant.rawValue)
                        .first()
                else { throw PaymentsError.notFound(object, id: id, param: param) }
                return try row.decode(column: "created_at", as: Int64.self)
            }
            var query = db.select().column("*").from(table).where("merchant_id", .equal, merchant.rawValue)
            if let (column, value) = filter { query = query.where(column, .equal, value) }
            if let value = created.greaterThan { query = query.where("created_at", .greaterThan, value) }
            if let value = created.greaterThanOrEqual { query = query.where("created_at", .greaterThanOrEqual, value) }
            if let value = created.lessThan { query = query.where("created_at", .lessThan, value) }
            if let value = created.lessThanOrEqual { query = query.where("created_at", .lessThanOrEqual, value) }
            if let after = startingAfter {
                let created = try await cursor(after, param: "starting_after")
                query = query.where { group in
                    group.where("created_at", .lessThan, created).orWhere { inner in
                        inner.where("created_at", .equal, created).where("id", .lessThan, after)
                    }
                }
                query = query.orderBy("created_at", .descending).orderBy("id", .descending)
            } else if let before = endingBefore {
                let created = try await cursor(before, param: "ending_before")
                query = query.where { group in
                    group.where("created_at", .greaterThan, created).orWhere { inner in
                        inner.where("created_at", .equal, created).where("id", .greaterThan, before)
                    }
                }
                query = query.orderBy("created_at", .ascending).orderBy("id", .ascending)
            } else {
                query = query.orderBy("created_at", .descending).orderBy("id", .descending)
            }
            var rows = try await query.limit(limit + 1).all(decoding: Row.self)
            let hasMore = rows.count > limit
            rows = Array(rows.prefix(limit))
            if endingBefore != nil && startingAfter == nil { rows.reverse() }
            return (try rows.map(map), hasMore)
        }
    }
}

extension OperationOutcome {
    var succeeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}
