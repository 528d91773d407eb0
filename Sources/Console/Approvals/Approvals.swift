public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Dual control: a sensitive action one operator asks for waits until a second operator
/// approves it with step-up. The requester can never approve their own request. Requests and
/// decisions are ledger entries; what an approval unlocks is done by the caller right after.
public struct Approvals: Sendable {
    public enum Action: String, Sendable, CaseIterable {
        /// Creating (or promoting to) an operator with the `admin` role.
        case createAdmin = "operator.create_admin"
        /// Rolling a merchant's API keys from the console.
        case rollMerchantKeys = "merchant.roll_keys"
        /// Resetting another operator's authenticator.
        case resetMFA = "operator.reset_mfa"
        /// Giving an existing operator the `admin` role.
        case promoteAdmin = "operator.promote_admin"
        /// Exporting the ledger's entries from the console.
        case exportLedger = "ledger.export"
        /// The card brands' file: the exposed card numbers, sealed to the recipient's key.
        case exportCards = "cards.export"
    }

    public struct Request: Sendable, Equatable {
        public let id: String
        public let action: Action
        public let subject: [String: String]
        public let requestedBy: String
        public let status: String
        public let createdAt: Int64
    }

    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
    }

    public func request(_ action: Action, subject: [String: String], by user: ConsoleUser, source: String?) async throws -> Request {
        let id = "apr_" + Base62.random(count: 20)
        let now = clock.now().unixSeconds
        let text = String(decoding: try JSONEncoder().encode(subject), as: UTF8.self)
        try await database.transaction { db in
            try await db.insert(into: "console_approvals").columns("id", "app", "action", "subject", "requested_by", "status", "created_at")
                .values(SQLBind(id), SQLBind(user.app.rawValue), SQLBind(action.rawValue), SQLBind(text), SQLBind(user.id), SQLBind("pending"), SQLBind(now))
                .run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.approval.requested",
                    objects: subject.merging(["approval": id, "requested": action.rawValue]) { a, _ in a }, source: source), on: db)
        }
        return Request(id: id, action: action, subject: subject, requestedBy: user.id, status: "pending", createdAt: now)
    }

    /// How long a request waits for its second person (seconds).
    public static let lifetime: Int64 = 86_400

    /// One pending request by id.
    public func pending(_ id: String) async throws -> Request? {
        guard id.utf8.count <= 64 else { return nil }
        return try await database.withConnection { db in
            try await db.select().columns("id", "action", "subject", "requested_by", "status", "created_at").from("console_approvals")
                .where("id", .equal, id).where("status", .equal, "pending").first().flatMap(Self.request)
        }
    }

    public func pending() async throws -> [Request] {
        try await database.withConnection { db in
            try await db.select().columns("id", "action", "subject", "requested_by", "status", "created_at").from("console_approvals")
                .where("status", .equal, "pending").orderBy("created_at", .descending).limit(200).all().compactMap(Self.request)
        }
    }

    /// Approves a pending request by a second person.
    /// - Throws: ``ConsoleError/ownRequest`` for the requester, ``ConsoleError/notPending``
    ///   when it was decided already (the update is conditional, so two approvals cannot both win).
    public func approve(_ id: String, by user: ConsoleUser, source: String?) async throws -> Request {
        guard id.utf8.count <= 64 else { throw ConsoleError.notFound }
        return try await database.transaction { db in
            guard
                let row = try await db.select().columns("id", "action", "subject", "requested_by", "status", "created_at").from("console_approvals")
                    .where("id", .equal, id).first(), let request = Self.request(row)
            else { throw ConsoleError.notFound }
            guard request.requestedBy != user.id else { throw ConsoleError.ownRequest }
            // A request lapses after a day, and with its requester's account.
            let requester = try await db.select().column("status").from("console_users").where("id", .equal, request.requestedBy).first()?
                .decode(column: "status", as: String.self)
            guard request.createdAt > clock.now().unixSeconds - Self.lifetime, requester == "active" else { throw ConsoleError.notPending }
            guard
                request.status == "pending",
                try await db.update("console_approvals").set("status", to: "approved").set("decided_by", to: user.id)
                    .set("decided_at", to: clock.now().unixSeconds).where("id", .equal, id).where("status", .equal, "pending").returning("id").first() != nil
            else { throw ConsoleError.notPending }
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.approval.approved",
                    objects: request.subject.merging(["approval": id, "requested": request.action.rawValue, "requested_by": request.requestedBy]) { a, _ in a
                    }, source: source), on: db)
            return request
        }
    }

    static func request(_ row: any SQLRow) -> Request? {
        guard let id = try? row.decode(column: "id", as: String.self), let action = (try? row.decode(column: "action", as: String.self)).flatMap(Action.init),
            let subjectText = try? row.decode(column: "subject", as: String.self),
            let subject = try? JSONDecoder().decode([String: String].self, from: Data(subjectText.utf8)),
            let by = try? row.decode(column: "requested_by", as: String.self), let status = try? row.decode(column: "status", as: String.self),
            let created = try? row.decode(column: "created_at", as: Int64.self)
        else { return nil }
        return Request(id: id, action: action, subject: subject, requestedBy: by, status: status, createdAt: created)
    }
}
