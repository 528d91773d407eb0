public import KessaiCore
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A browser's session with the console or a dashboard, kept in the database (several gateway
/// processes share it). The cookie carries 43 random characters; the table keeps only their
/// SHA-256, so a copy of the database opens no session.
public struct ConsoleSession: Sendable, Equatable {
    public enum Stage: String, Sendable {
        /// Before sign-in: carries the sign-in form's CSRF token.
        case anonymous
        /// The password was right; the one-time code is next.
        case password
        /// Enrolling: the password is set, the authenticator's first code is next.
        case enrolling
        /// Signed in.
        case active
    }

    public let idHash: String
    public let app: ConsoleApp
    public let userID: String?
    public let stage: Stage
    /// The token every form of this session carries.
    public let csrf: String
    public let createdAt: Int64
}

/// Starts, finds, rotates and ends sessions. A session ends after ``idleTimeout`` seconds
/// without a request (PCI DSS 8.2.8: 15 minutes) and ``absoluteLifetime`` after it began,
/// whatever happens; its id changes at sign-in.
public struct SessionStore: Sendable {
    let database: KessaiDatabase
    let clock: any KessaiClock
    public let idleTimeout: Int64
    public let absoluteLifetime: Int64

    public init(database: KessaiDatabase, clock: any KessaiClock, idleTimeout: Int64 = 900, absoluteLifetime: Int64 = 12 * 3600) {
        self.database = database
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.absoluteLifetime = absoluteLifetime
    }

    /// A new session; returns the cookie value (shown to the browser only) and the session.
    public func start(_ app: ConsoleApp, stage: ConsoleSession.Stage, userID: String? = nil) async throws -> (String, ConsoleSession) {
        let token = Base62.random(count: 43)
        let now = clock.now().unixSeconds
        let session = ConsoleSession(
            idHash: OneTimeCodes.tokenDigest(token), app: app, userID: userID, stage: stage, csrf: Base62.random(count: 32), createdAt: now)
        try await database.withConnection { db in
            try await db.insert(into: "console_sessions").columns("id_hash", "app", "user_id", "stage", "csrf", "created_at", "seen_at")
                .values(
                    SQLBind(session.idHash), SQLBind(app.rawValue), SQLBind(userID), SQLBind(stage.rawValue), SQLBind(session.csrf), SQLBind(now), SQLBind(now)
                ).run()
        }
        return (token, session)
    }

    /// The live session a cookie names, touched now; `nil` (and the row gone) when it timed out.
    public func find(_ app: ConsoleApp, token: String) async throws -> ConsoleSession? {
        guard token.utf8.count == 43, token.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        let hash = OneTimeCodes.tokenDigest(token)
        let now = clock.now().unixSeconds
        return try await database.withConnection { db -> ConsoleSession? in
            guard
                let row = try await db.select().columns("user_id", "stage", "csrf", "created_at", "seen_at").from("console_sessions")
                    .where("id_hash", .equal, hash).where("app", .equal, app.rawValue).first()
            else { return nil }
            let created = try row.decode(column: "created_at", as: Int64.self)
            let seen = try row.decode(column: "seen_at", as: Int64.self)
            guard now - seen < idleTimeout, now - created < absoluteLifetime,
                let stage = ConsoleSession.Stage(rawValue: try row.decode(column: "stage", as: String.self))
            else {
                try await db.delete(from: "console_sessions").where("id_hash", .equal, hash).run()
                return nil
            }
            if now > seen { try await db.update("console_sessions").set("seen_at", to: now).where("id_hash", .equal, hash).run() }
            return ConsoleSession(
                idHash: hash, app: app, userID: try row.decode(column: "user_id", as: String?.self), stage: stage,
                csrf: try row.decode(column: "csrf", as: String.self), createdAt: created)
        }
    }

    /// Replaces a session by a new one (new id, new CSRF token) at a new stage: a session id
    /// fixed before sign-in is worth nothing after it.
    public func rotate(_ old: ConsoleSession, to stage: ConsoleSession.Stage, userID: String?) async throws -> (String, ConsoleSession) {
        try await end(old)
        return try await start(old.app, stage: stage, userID: userID)
    }

    public func end(_ session: ConsoleSession) async throws {
        try await database.withConnection { db in
            try await db.delete(from: "console_sessions").where("id_hash", .equal, session.idHash).run()
        }
    }

    /// Removes sessions that can no longer be used.
    public func sweep() async throws {
        let now = clock.now().unixSeconds
        try await database.withConnection { db in
            try await db.delete(from: "console_sessions").where("seen_at", .lessThan, now - idleTimeout).run()
        }
    }
}
