public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The people of the console and the dashboards: invitation, enrollment (password and
/// authenticator), roles, disabling, MFA resets. Every change is a ledger entry.
public struct AccountStore: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock
    let hasher: PasswordHasher
    let sealer: SecretSealer

    /// How long an enrollment link stays valid.
    public static let enrollmentLifetime: Int64 = 24 * 3600
    /// Accounts unused this long are disabled at their next sign-in (PCI DSS 8.2.6).
    public static let inactivityLimit: Int64 = 90 * 86_400

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock, hasher: PasswordHasher, sealer: SecretSealer) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
        self.hasher = hasher
        self.sealer = sealer
    }

    /// Creates an account waiting for enrollment.
    /// - Returns: the account and its enrollment token (shown once, as part of a URL).
    /// - Throws: ``ConsoleError`` for a bad e-mail or role, or an e-mail already in use.
    public func invite(
        _ app: ConsoleApp, email raw: String, role: ConsoleRole, merchant: MerchantID?, actor: LedgerActor, source: String? = nil
    ) async throws -> (ConsoleUser, Secret<String>) {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard Self.isEmail(email) else { throw ConsoleError.invalidEmail }
        guard role.app == app, (app == .dashboard) == (merchant != nil) else { throw ConsoleError.invalidRole }
        let now = clock.now().unixSeconds
        let token = Base62.random(count: 43)
        let id = "usr_" + Base62.random(count: 20)
        try await database.transaction { db in
            if try await db.select().column("id").from("console_users").where("app", .equal, app.rawValue).where("email", .equal, email).first() != nil {
                throw ConsoleError.emailTaken
            }
            try await db.insert(into: "console_users")
                .model(
                    AccountRow(
                        id: id, app: app.rawValue, merchantID: merchant?.rawValue, email: email, role: role.rawValue, status: "invited",
                        passwordHash: nil, passwordHistory: "[]", totpSealed: nil, totpLastStep: 0, recoveryCodes: "[]", failedAttempts: 0,
                        lockedUntil: 0, enrollmentHash: OneTimeCodes.tokenDigest(token), enrollmentExpiresAt: now + Self.enrollmentLifetime, lastLoginAt: nil,
                        createdAt: now, updatedAt: now), nilEncodingStrategy: .asNil
                ).run()
            var objects = ["user": id, "role": role.rawValue, "app": app.rawValue]
            if let merchant { objects["merchant"] = merchant.rawValue }
            try await ledger.record(LedgerEntry(time: clock.now(), actor: actor, action: "console.user.invited", objects: objects, source: source), on: db)
        }
        guard let user = try await find(id: id) else { throw ConsoleError.notFound }
        return (user, Secret(token))
    }

    public func find(id: String) async throws -> ConsoleUser? { try await row(id: id)?.user() }

    func row(id: String) async throws -> AccountRow? {
        guard id.utf8.count <= 64 else { return nil }
        return try await database.withConnection { db in
            try await db.select().column("*").from("console_users").where("id", .equal, id).first(decoding: AccountRow.self)
        }
    }

    func row(_ app: ConsoleApp, email: String) async throws -> AccountRow? {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard email.utf8.count <= 254 else { return nil }
        return try await database.withConnection { db in
            try await db.select().column("*").from("console_users").where("app", .equal, app.rawValue).where("email", .equal, email)
                .first(decoding: AccountRow.self)
        }
    }

    /// The invited account an enrollment token belongs to, while it is valid.
    public func enrolling(_ app: ConsoleApp, token: String) async throws -> ConsoleUser? {
        guard token.utf8.count <= 64 else { return nil }
        let now = clock.now().unixSeconds
        return try await database.withConnection { db in
            try await db.select().column("*").from("console_users").where("enrollment_hash", .equal, OneTimeCodes.tokenDigest(token))
                .where("app", .equal, app.rawValue).where("status", .equal, "invited").where("enrollment_expires_at", .greaterThan, now)
                .first(decoding: AccountRow.self)?.user()
        }
    }

    /// The first enrollment step: the password, and a new authenticator secret (returned to be
    /// shown; stored sealed).
    public func setPassword(_ user: ConsoleUser, password: String, confirmation: String, source: String?) async throws -> String {
        do { try PasswordPolicy.check(password, confirmation: confirmation, email: user.email) } catch { throw ConsoleError.password(error) }
        guard let current = try await row(id: user.id) else { throw ConsoleError.notFound }
        for old in AccountRow.list(current.passwordHistory).suffix(PasswordPolicy.history) where try await hasher.verify(password, against: old) {
            throw ConsoleError.password(.reused)
        }
        let hash = try await hasher.hash(password)
        let secret = OneTimeCodes.newSecret()
        let history = Array((AccountRow.list(current.passwordHistory) + [hash]).suffix(PasswordPolicy.history))
        let now = clock.now().unixSeconds
        try await database.transaction { db in
            try await db.update("console_users").set("password_hash", to: hash).set("password_history", to: AccountRow.text(history))
                .set("totp_sealed", to: try sealer.seal(secret, account: user.id)).set("totp_last_step", to: 0).set("updated_at", to: now)
                .where("id", .equal, user.id).run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.password.set", objects: ["user": user.id], source: source),
                on: db)
        }
        return secret
    }

    /// The last enrollment step: a first code from the authenticator proves it holds the
    /// secret. The account becomes active; ten recovery codes are returned (stored hashed).
    public func completeEnrollment(_ user: ConsoleUser, code: String, source: String?) async throws -> [String] {
        guard let current = try await row(id: user.id), current.status == "invited", let sealed = current.totpSealed else { throw ConsoleError.notFound }
        let secret = try sealer.open(sealed, account: user.id)
        guard let step = OneTimeCodes.acceptedStep(code, secret: secret, now: clock.now(), after: current.totpLastStep) else {
            throw ConsoleError.invalidCode
        }
        let codes = OneTimeCodes.recoveryCodes()
        let now = clock.now().unixSeconds
        try await database.transaction { db in
            try await db.update("console_users").set("status", to: "active").set("totp_last_step", to: step)
                .set("recovery_codes", to: AccountRow.text(codes.map(OneTimeCodes.digest))).set("enrollment_hash", to: SQLLiteral.null)
                .set("enrollment_expires_at", to: SQLLiteral.null).set("last_login_at", to: now).set("updated_at", to: now)
                .where("id", .equal, user.id).where("status", .equal, "invited").run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.mfa.enrolled", objects: ["user": user.id], source: source),
                on: db)
        }
        return codes
    }

    /// The accounts of an application (a merchant's, for the dashboard), newest first.
    public func list(_ app: ConsoleApp, merchant: MerchantID? = nil) async throws -> [ConsoleUser] {
        try await database.withConnection { db in
            var select = db.select().column("*").from("console_users").where("app", .equal, app.rawValue)
            if let merchant { select = select.where("merchant_id", .equal, merchant.rawValue) }
            return try await select.orderBy("created_at", .descending).limit(500).all(decoding: AccountRow.self).compactMap { $0.user() }
        }
    }

    /// Disables an account (it can no longer sign in; its sessions end).
    public func disable(_ id: String, actor: LedgerActor, source: String?) async throws {
        try await database.transaction { db in
            guard try await db.select().column("id").from("console_users").where("id", .equal, id).first() != nil else { throw ConsoleError.notFound }
            try await db.update("console_users").set("status", to: "disabled").set("updated_at", to: clock.now().unixSeconds).where("id", .equal, id).run()
            try await db.delete(from: "console_sessions").where("user_id", .equal, id).run()
            try await ledger.record(
                LedgerEntry(time: clock.now(), actor: actor, action: "console.user.disabled", objects: ["user": id], source: source), on: db)
        }
    }

    /// Resets an account's authenticator: it goes back to `invited` with a new enrollment link
    /// (returned), its sessions end, and its password must be set again.
    public func resetMFA(_ id: String, actor: LedgerActor, source: String?) async throws -> Secret<String> {
        let token = Base62.random(count: 43)
        let now = clock.now().unixSeconds
        try await database.transaction { db in
            guard let row = try await db.select().column("status").from("console_users").where("id", .equal, id).first(),
                try row.decode(column: "status", as: String.self) != "disabled"
            else { throw ConsoleError.notFound }
            try await db.update("console_users").set("status", to: "invited").set("totp_sealed", to: SQLLiteral.null).set("recovery_codes", to: "[]")
                .set("enrollment_hash", to: OneTimeCodes.tokenDigest(token)).set("enrollment_expires_at", to: now + Self.enrollmentLifetime)
                .set("failed_attempts", to: 0).set("locked_until", to: 0).set("updated_at", to: now).where("id", .equal, id).run()
            try await db.delete(from: "console_sessions").where("user_id", .equal, id).run()
            try await ledger.record(LedgerEntry(time: clock.now(), actor: actor, action: "console.mfa.reset", objects: ["user": id], source: source), on: db)
        }
        return Secret(token)
    }

    /// A plausible e-mail address: one `@`, a dot in the domain, printable ASCII, at most 254.
    static func isEmail(_ email: String) -> Bool {
        guard email.utf8.count <= 254, email.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }
}

extension AccountStore {
    /// The authenticator secret of an account still enrolling (to show it again after a wrong
    /// first code); refused once the account is active.
    public func pendingSecret(_ user: ConsoleUser) async throws -> String {
        guard let row = try await row(id: user.id), row.status == "invited", let sealed = row.totpSealed else { throw ConsoleError.notFound }
        return try sealer.open(sealed, account: user.id)
    }
}

extension AccountStore {
    /// Gives an account another role of its application (promotion to admin goes through an
    /// approval first: the caller's concern).
    public func changeRole(_ id: String, to role: ConsoleRole, actor: LedgerActor, source: String?) async throws {
        try await database.transaction { db in
            guard let row = try await db.select().columns("app", "role").from("console_users").where("id", .equal, id).first() else {
                throw ConsoleError.notFound
            }
            guard try row.decode(column: "app", as: String.self) == role.app.rawValue else { throw ConsoleError.invalidRole }
            let from = try row.decode(column: "role", as: String.self)
            try await db.update("console_users").set("role", to: role.rawValue).set("updated_at", to: clock.now().unixSeconds).where("id", .equal, id).run()
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "console.user.role_changed", objects: ["user": id, "from": from, "to": role.rawValue],
                    source: source), on: db)
        }
    }
}
