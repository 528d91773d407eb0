public import KessaiCore
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The simulated store network (konbini) and bank collection service (Pay-easy). They keep
/// their own books (`test_network_payments`): the numbers issued, the deadline, whether the
/// buyer paid. ``buyerPays(reference:)`` is the buyer at the counter or the ATM; it answers the
/// notification the network would send Kessai — the same one again if the buyer already paid
/// (a duplicate delivery, as real networks send), and a refusal after the deadline or once the
/// numbers were withdrawn.
public struct TestCashNetwork: SimulatedCashNetwork {
    public let method: String
    let database: KessaiDatabase
    let clock: any KessaiClock

    /// Pay-easy's 収納機関番号 for the simulated collection agency.
    public static let institutionNumber = "58091"

    public init(method: String, database: KessaiDatabase, clock: any KessaiClock) {
        self.method = method
        self.database = database
        self.clock = clock
    }

    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }

    public func register(reference: String, amount: Money, expiresAt: Date, confirmationNumber: String?) async throws -> CashInstructions {
        if let existing = try await books(reference: reference) { return existing.instructions }
        var instructions = CashInstructions()
        if method == "konbini" {
            let confirmation = confirmationNumber ?? Self.digits(11)
            for store in ["familymart", "lawson", "ministop", "seicomart"] {
                instructions.stores[store] = .init(confirmationNumber: confirmation, paymentCode: Self.digits(store == "familymart" ? 12 : 11))
            }
        } else {
            instructions.institutionNumber = Self.institutionNumber
            instructions.customerNumber = Self.digits(16)
            instructions.confirmationNumber = confirmationNumber ?? Self.digits(6)
        }
        let numbers = String(decoding: try JSONEncoder().encode(instructions), as: UTF8.self)
        try await database.withConnection { db in
            try await db.insert(into: "test_network_payments")
                .columns("reference", "method", "amount", "expires_at", "status", "numbers", "created_at")
                .values(
                    SQLBind(reference), SQLBind(method), SQLBind(amount.minorUnits), SQLBind(expiresAt.unixSeconds), SQLBind("issued"), SQLBind(numbers),
                    SQLBind(clock.now().unixSeconds)
                ).run()
        }
        return instructions
    }

    public func withdraw(reference: String) async throws {
        try await database.withConnection { db in
            try await db.update("test_network_payments").set("status", to: "withdrawn").where("reference", .equal, reference)
                .where("status", .equal, "issued").run()
        }
    }

    public struct Books: Sendable {
        public let status: String
        public let amount: Int64
        public let expiresAt: Int64
        public let notificationID: String?
        public let paidAt: Int64?
        public let instructions: CashInstructions
    }

    public func books(reference: String) async throws -> Books? {
        try await database.withConnection { db in
            guard let row = try await db.select().column("*").from("test_network_payments").where("reference", .equal, reference).first() else {
                return nil
            }
            return Books(
                status: try row.decode(column: "status"), amount: try row.decode(column: "amount"), expiresAt: try row.decode(column: "expires_at"),
                notificationID: try row.decode(column: "notification_id", as: String?.self), paidAt: try row.decode(column: "paid_at", as: Int64?.self),
                instructions: try JSONDecoder().decode(CashInstructions.self, from: Data(try row.decode(column: "numbers", as: String.self).utf8)))
        }
    }

    /// The buyer pays at the counter: the network's records change, and it answers the
    /// notification it sends Kessai.
    public func buyerPays(reference: String) async throws -> CashNotification {
        let now = clock.now()
        return try await database.transaction { db in
            guard
                let row = try await db.select().columns("status", "amount", "expires_at", "notification_id", "paid_at").from("test_network_payments")
                    .where("reference", .equal, reference).for(.update).first()
            else { throw NetworkRefusal(code: "unknown_reference", message: "The network issued no numbers for this payment.") }
            let status: String = try row.decode(column: "status")
            let amount: Int64 = try row.decode(column: "amount")
            if status == "paid", let id = try row.decode(column: "notification_id", as: String?.self),
                let paidAt = try row.decode(column: "paid_at", as: Int64?.self)
            {
                // Already paid: the network sends its notification again.
                return CashNotification(id: id, reference: reference, amount: amount, paidAt: Date(unixSeconds: paidAt))
            }
            guard status == "issued" else {
                throw NetworkRefusal(code: "numbers_withdrawn", message: "These payment numbers are no longer valid (expired or canceled).")
            }
            guard now.unixSeconds <= (try row.decode(column: "expires_at", as: Int64.self)) else {
                throw NetworkRefusal(code: "past_deadline", message: "The payment deadline has passed.")
            }
            let id = "ntf_" + Base62.random(count: 20)
            try await db.update("test_network_payments").set("status", to: "paid").set("notification_id", to: id).set("paid_at", to: now.unixSeconds)
                .where("reference", .equal, reference).run()
            return CashNotification(id: id, reference: reference, amount: amount, paidAt: now)
        }
    }
}

/// The simulated e-money provider: its page (served by Kessai under `/emoney/test/…`, in
/// place of the provider's site) records the buyer's approval or refusal in its own books
/// (`test_emoney_sessions`).
public struct TestEMoneyProvider: EMoneyProvider {
    public let name = "test"
    let database: KessaiDatabase
    let clock: any KessaiClock

    public init(database: KessaiDatabase, clock: any KessaiClock) {
        self.database = database
        self.clock = clock
    }

    public func start(reference: String, amount: Money) async throws -> String {
        let session = "ems_" + Base62.random(count: 32)
        try await database.withConnection { db in
            try await db.insert(into: "test_emoney_sessions").columns("session", "reference", "amount", "created_at")
                .values(SQLBind(session), SQLBind(reference), SQLBind(amount.minorUnits), SQLBind(clock.now().unixSeconds)).run()
        }
        return session
    }

    /// The buyer's answer on the provider's page; the first answer stands.
    public func answer(session: String, approved: Bool) async throws -> String? {
        try await database.transaction { db in
            guard
                let row = try await db.select().columns("reference", "result").from("test_emoney_sessions").where("session", .equal, session)
                    .for(.update).first()
            else { return nil }
            if try row.decode(column: "result", as: String?.self) == nil {
                try await db.update("test_emoney_sessions").set("result", to: approved ? "approved" : "refused")
                    .set("answered_at", to: clock.now().unixSeconds).where("session", .equal, session).run()
            }
            return try row.decode(column: "reference", as: String.self)
        }
    }

    public func result(session: String) async throws -> EMoneyResult? {
        try await database.withConnection { db in
            try await db.select().column("result").from("test_emoney_sessions").where("session", .equal, session).first()?
                .decode(column: "result", as: String?.self).flatMap(EMoneyResult.init(rawValue:))
        }
    }

    /// The session's amount and reference, for the provider's page.
    public func session(_ session: String) async throws -> (reference: String, amount: Int64, result: String?)? {
        try await database.withConnection { db in
            guard
                let row = try await db.select().columns("reference", "amount", "result").from("test_emoney_sessions").where("session", .equal, session).first()
            else { return nil }
            return (try row.decode(column: "reference"), try row.decode(column: "amount"), try row.decode(column: "result", as: String?.self))
        }
    }
}
