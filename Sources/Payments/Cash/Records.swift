import Acquiring
public import KessaiCore
import Logging
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CashPayments {
    /// The row a cash intent keeps beside it.
    public struct Record: Sendable {
        public let intent: PaymentIntentID
        public let merchant: MerchantID
        public let method: String
        public let paymentMethod: String
        public let state: String
        public let details: Details
        public let expiresAt: Int64?
        public let pageToken: String?
        public let providerSession: String?
        public let testBehavior: String?
        public let paidAt: Int64?
    }

    static func record(_ row: any SQLRow) throws -> Record {
        Record(
            intent: .init(rawValue: try row.decode(column: "payment_intent_id")), merchant: .init(rawValue: try row.decode(column: "merchant_id")),
            method: try row.decode(column: "method"), paymentMethod: try row.decode(column: "payment_method_id"), state: try row.decode(column: "state"),
            details: try RowJSON.decode(Details.self, try row.decode(column: "options", as: String.self)),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self), pageToken: try row.decode(column: "page_token", as: String?.self),
            providerSession: try row.decode(column: "provider_session", as: String?.self),
            testBehavior: try row.decode(column: "test_behavior", as: String?.self), paidAt: try row.decode(column: "paid_at", as: Int64?.self))
    }

    public func record(of intent: PaymentIntentID) async throws -> Record? {
        try await database.withConnection { db in
            try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, intent.rawValue).first().map(Self.record)
        }
    }

    /// A konbini, Pay-easy or e-money payment method (`pm_…` made with its intent), for its
    /// merchant only.
    /// - Returns: the record, when it was made, and whether it is live; nil for another
    ///   merchant's or none.
    public func paymentMethod(_ id: String, merchant: MerchantID) async throws -> (record: Record, created: Int64, livemode: Bool)? {
        try await database.withConnection { db in
            guard
                let row = try await db.select().column("*").from("cash_payments").where("payment_method_id", .equal, id)
                    .where("merchant_id", .equal, merchant.rawValue).first()
            else { return nil }
            let record = try Self.record(row)
            let livemode = try await db.select().column("livemode").from("payment_intents").where("id", .equal, record.intent.rawValue).first()?
                .decode(column: "livemode", as: Int.self)
            return (record, try row.decode(column: "created_at", as: Int64.self), livemode == 1)
        }
    }

    /// The record behind a voucher, instructions or provider page (its token is the credential).
    public func record(pageToken: String) async throws -> (Record, PaymentIntent)? {
        try await database.withConnection { db in
            guard let row = try await db.select().column("*").from("cash_payments").where("page_token", .equal, pageToken).first() else { return nil }
            let record = try Self.record(row)
            guard
                let intent = try await db.select().column("*").from("payment_intents").where("id", .equal, record.intent.rawValue)
                    .first(decoding: PaymentIntentRow.self)?.domain()
            else { return nil }
            return (record, intent)
        }
    }
}
