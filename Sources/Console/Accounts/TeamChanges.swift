public import KessaiCore
public import Ledger
import SQLKit

/// What a merchant's owner changes in their own team: another member's role, or their access
/// (PCI DSS 7.2.4 and 8.2.5: access changed or removed when a job changes or ends). A member of
/// another merchant is not found; the merchant always keeps an active owner.
extension AccountStore {
    /// Gives a member of the merchant's team another dashboard role.
    /// - Throws: ``ConsoleError/notFound`` (not this merchant's member), ``ConsoleError/invalidRole``,
    ///   ``ConsoleError/lastOwner``.
    public func changeTeamRole(_ id: String, merchant: MerchantID, to role: ConsoleRole, actor: LedgerActor, source: String?) async throws {
        guard role.app == .dashboard else { throw ConsoleError.invalidRole }
        try await database.transaction { db in
            let member = try await Self.member(id, of: merchant, on: db)
            if member.role == ConsoleRole.owner.rawValue, role != .owner { try await Self.keepAnOwner(besides: id, of: merchant, on: db) }
            try await db.update("console_users").set("role", to: role.rawValue).set("updated_at", to: clock.now().unixSeconds).where("id", .equal, id).run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "dashboard.user.role_changed",
                    objects: ["user": id, "merchant": merchant.rawValue, "from": member.role, "to": role.rawValue], source: source), on: db)
        }
    }

    /// Ends a member's access: the account is disabled and its sessions end.
    /// - Throws: ``ConsoleError/notFound``, ``ConsoleError/lastOwner``.
    public func disableTeamMember(_ id: String, merchant: MerchantID, actor: LedgerActor, source: String?) async throws {
        try await database.transaction { db in
            let member = try await Self.member(id, of: merchant, on: db)
            guard member.status != "disabled" else { return }
            if member.role == ConsoleRole.owner.rawValue { try await Self.keepAnOwner(besides: id, of: merchant, on: db) }
            try await db.update("console_users").set("status", to: "disabled").set("updated_at", to: clock.now().unixSeconds).where("id", .equal, id).run()
            try await db.delete(from: "console_sessions").where("user_id", .equal, id).run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "dashboard.user.disabled", objects: ["user": id, "merchant": merchant.rawValue],
                    source: source), on: db)
        }
    }

    /// The member's role and status, locked for the change.
    private static func member(_ id: String, of merchant: MerchantID, on db: any SQLDatabase) async throws -> (role: String, status: String) {
        guard
            let row = try await db.select().columns("role", "status").from("console_users").where("id", .equal, id).where("app", .equal, "dashboard")
                .where("merchant_id", .equal, merchant.rawValue).for(.update).first()
        else { throw ConsoleError.notFound }
        return (try row.decode(column: "role", as: String.self), try row.decode(column: "status", as: String.self))
    }

    /// Another active owner must remain.
    private static func keepAnOwner(besides id: String, of merchant: MerchantID, on db: any SQLDatabase) async throws {
        let others = try await db.select().column("id").from("console_users").where("app", .equal, "dashboard")
            .where("merchant_id", .equal, merchant.rawValue).where("role", .equal, ConsoleRole.owner.rawValue).where("status", .equal, "active")
            .where("id", .notEqual, id).for(.update).all()
        guard !others.isEmpty else { throw ConsoleError.lastOwner }
    }
}
