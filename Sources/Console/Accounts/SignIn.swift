public import KessaiCore
public import Ledger
import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signing in: the password step, the one-time-code step, and step-up for sensitive actions.
///
/// An account locks after ``Policy/maximumFailures`` wrong passwords or codes, for
/// ``Policy/lockout`` seconds (PCI DSS 8.3.4); a source address that fails too often is refused
/// for the rest of its window, so a spray over many accounts slows down too. The answer never
/// says whether an account exists or is locked. Every attempt is a ledger entry (`console.login`;
/// floods are aggregated by the ``FailureRecorder``), and a lock adds `console.lockout`.
public struct SignIn: Sendable {
    public struct Policy: Sendable {
        public var maximumFailures = 10
        public var lockout: Int64 = 30 * 60
        public var sourceFailures = 50
        public var sourceWindow: Int64 = 15 * 60
        public init() {}
    }

    public enum Outcome: Sendable, Equatable {
        case accepted(ConsoleUser)
        case refused
    }

    let accounts: AccountStore
    let failures: FailureRecorder
    let policy: Policy

    public init(accounts: AccountStore, failures: FailureRecorder, policy: Policy = Policy()) {
        self.accounts = accounts
        self.failures = failures
        self.policy = policy
    }

    var clock: any KessaiClock { accounts.clock }

    /// The first step: e-mail and password.
    public func password(_ app: ConsoleApp, email: String, password: String, source: String) async throws -> Outcome {
        let now = clock.now().unixSeconds
        let attempted = Self.masked(email)
        if try await sourceIsLimited(source, now: now) {
            try await accounts.hasher.spendVerificationTime(password)
            try await fail(nil, attempted: attempted, reason: "source_limited", source: source)
            return .refused
        }
        guard let row = try await accounts.row(app, email: email), let user = row.user(), let stored = row.passwordHash else {
            try await accounts.hasher.spendVerificationTime(password)
            try await fail(nil, attempted: attempted, reason: "unknown_account", source: source)
            return .refused
        }
        guard user.status == .active else {
            try await accounts.hasher.spendVerificationTime(password)
            try await fail(user, attempted: attempted, reason: "inactive", source: source)
            return .refused
        }
        if row.lockedUntil > now {
            try await accounts.hasher.spendVerificationTime(password)
            try await fail(user, attempted: attempted, reason: "locked", source: source)
            return .refused
        }
        if (row.lastLoginAt ?? row.createdAt) < now - AccountStore.inactivityLimit {
            try await accounts.hasher.spendVerificationTime(password)
            try await accounts.disable(user.id, actor: .system("console_inactivity"), source: source)
            try await fail(user, attempted: attempted, reason: "unused_90_days", source: source)
            return .refused
        }
        guard try await accounts.hasher.verify(password, against: stored) else {
            try await countFailure(user, attempted: attempted, reason: "wrong_password", source: source)
            return .refused
        }
        // A lock set by parallel guesses while this one was being verified still holds.
        if let current = try await accounts.row(id: user.id), current.lockedUntil > clock.now().unixSeconds {
            try await fail(user, attempted: attempted, reason: "locked", source: source)
            return .refused
        }
        try await accounts.ledger.record(entry(user, attempted: attempted, outcome: "success:password", source: source))
        return .accepted(user)
    }

    /// The second step: a one-time code from the authenticator, or a recovery code.
    public func code(userID: String, code: String, source: String) async throws -> Outcome {
        guard let row = try await accounts.row(id: userID), let user = row.user(), user.status == .active else { return .refused }
        let attempted = Self.masked(user.email)
        if row.lockedUntil > clock.now().unixSeconds {
            try await fail(user, attempted: attempted, reason: "locked", source: source)
            return .refused
        }
        guard try await consume(code, row: row, user: user, source: source) else {
            try await countFailure(user, attempted: attempted, reason: "wrong_code", source: source)
            return .refused
        }
        try await accounts.database.withConnection { db in
            try await db.update("console_users").set("failed_attempts", to: 0).set("last_login_at", to: clock.now().unixSeconds)
                .where("id", .equal, user.id).run()
        }
        try await accounts.ledger.record(entry(user, attempted: attempted, outcome: "success", source: source))
        return .accepted(user)
    }

    /// Step-up for a sensitive action: the password and a fresh code again. A failure counts
    /// toward the lockout like a failed sign-in.
    public func stepUp(_ user: ConsoleUser, password: String, code: String, action: String, source: String) async throws -> Bool {
        guard let row = try await accounts.row(id: user.id), row.status == "active", row.lockedUntil <= clock.now().unixSeconds,
            let stored = row.passwordHash, password.utf8.count <= PasswordPolicy.maximumLength
        else { return false }
        let passed = try await accounts.hasher.verify(password, against: stored)
        let consumed = passed ? try await consume(code, row: row, user: user, source: source, recoveryAllowed: false) : false
        let entry = LedgerEntry(
            time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.step_up", objects: ["user": user.id, "for": action],
            source: source, outcome: consumed ? "success" : "failure")
        try await accounts.ledger.record(entry)
        if !consumed { try await countFailure(user, attempted: Self.masked(user.email), reason: "step_up", source: source) }
        return consumed
    }

    /// Takes a code: a time-based one for a step later than the last used (the step is claimed
    /// in one conditional update, so two requests cannot both use it), or an unused recovery code.
    func consume(_ code: String, row: AccountRow, user: ConsoleUser, source: String, recoveryAllowed: Bool = true) async throws -> Bool {
        guard code.utf8.count <= 32, let sealed = row.totpSealed else { return false }
        let secret = try accounts.sealer.open(sealed, account: user.id)
        if let step = OneTimeCodes.acceptedStep(code, secret: secret, now: clock.now(), after: row.totpLastStep) {
            return try await accounts.database.withConnection { db in
                try await db.update("console_users").set("totp_last_step", to: step).where("id", .equal, user.id)
                    .where("totp_last_step", .lessThan, step).returning("id").first() != nil
            }
        }
        guard recoveryAllowed else { return false }
        let digest = OneTimeCodes.digest(code.trimmingCharacters(in: .whitespaces))
        var codes = AccountRow.list(row.recoveryCodes)
        guard let index = codes.firstIndex(of: digest) else { return false }
        codes.remove(at: index)
        let remaining = codes
        let used = try await accounts.database.withConnection { db in
            try await db.update("console_users").set("recovery_codes", to: AccountRow.text(remaining)).where("id", .equal, user.id)
                .where("recovery_codes", .equal, row.recoveryCodes).returning("id").first() != nil
        }
        if used {
            try await accounts.ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, user.actorID), action: "console.recovery_code.used",
                    objects: ["user": user.id, "remaining": String(codes.count)], source: source))
        }
        return used
    }

    /// A wrong password or code: counted toward the lock, which starts at the limit.
    func countFailure(_ user: ConsoleUser, attempted: String, reason: String, source: String) async throws {
        let now = clock.now().unixSeconds
        let locked: Bool = try await accounts.database.transaction { db in
            // One atomic increment: parallel failures each count (no lost updates).
            let failed =
                try await db.update("console_users").set(SQLIdentifier("failed_attempts"), to: SQLRaw("failed_attempts + 1"))
                .where("id", .equal, user.id).returning("failed_attempts").first()?.decode(column: "failed_attempts", as: Int.self) ?? 1
            if failed >= policy.maximumFailures {
                try await db.update("console_users").set("failed_attempts", to: 0).set("locked_until", to: now + policy.lockout)
                    .where("id", .equal, user.id).run()
                try await accounts.ledger.record(
                    LedgerEntry(
                        time: clock.now(), actor: .system("console_lockout"), action: "console.lockout",
                        objects: ["user": user.id, "failures": String(failed), "until": String(now + policy.lockout)], source: source), on: db)
                return true
            }
            return false
        }
        try await fail(user, attempted: attempted, reason: locked ? "\(reason),locked" : reason, source: source)
    }

    func fail(_ user: ConsoleUser?, attempted: String, reason: String, source: String) async throws {
        try await noteSourceFailure(source)
        try await failures.record(entry(user, attempted: attempted, outcome: "failure:\(reason)", source: source), subject: "console:\(attempted)")
    }

    func entry(_ user: ConsoleUser?, attempted: String, outcome: String, source: String) -> LedgerEntry {
        var objects = ["attempted": attempted]
        if let user {
            objects["user"] = user.id
            objects["app"] = user.app.rawValue
        }
        return LedgerEntry(
            time: clock.now(), actor: user.map { LedgerActor(.operator, $0.actorID) } ?? LedgerActor(.anonymous, "console"), action: "console.login",
            objects: objects, source: source, outcome: outcome)
    }

    /// What an attempted name is recorded as: enough to group attempts, never a password that
    /// was typed into the wrong field in full (two characters and the domain).
    static func masked(_ email: String) -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard AccountStore.isEmail(trimmed), let at = trimmed.firstIndex(of: "@") else { return "(not an e-mail)" }
        return String(trimmed[..<at].prefix(2)) + "…" + String(trimmed[at...])
    }

    func sourceIsLimited(_ source: String, now: Int64) async throws -> Bool {
        try await accounts.database.withConnection { db in
            guard let row = try await db.select().columns("failures", "window_start").from("console_source_failures").where("source", .equal, source).first()
            else { return false }
            let start = try row.decode(column: "window_start", as: Int64.self)
            let failures = try row.decode(column: "failures", as: Int.self)
            return now - start < policy.sourceWindow && failures >= policy.sourceFailures
        }
    }

    func noteSourceFailure(_ source: String) async throws {
        let now = clock.now().unixSeconds
        try await accounts.database.withConnection { db in
            // A new window: a stale row goes, a row is there (another request may add it first),
            // and one atomic increment.
            try await db.delete(from: "console_source_failures").where("source", .equal, source)
                .where("window_start", .lessThanOrEqual, now - policy.sourceWindow).run()
            try await db.insert(into: "console_source_failures").columns("source", "failures", "window_start")
                .values(SQLBind(source), SQLBind(0), SQLBind(now)).ignoringConflicts(with: ["source"]).run()
            try await db.update("console_source_failures").set(SQLIdentifier("failures"), to: SQLRaw("failures + 1")).where("source", .equal, source)
                .run()
        }
    }
}
