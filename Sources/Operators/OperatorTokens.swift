public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Operator API tokens (`op_…`) for the operator endpoints such as the ledger checkpoint.
///
/// This is the machine credential of an operator (a monitoring job fetching checkpoints);
/// people at the console will sign in with MFA when the console exists. Tokens are stored only
/// as keyed hashes and shown once.
public struct OperatorTokenStore: Sendable {
    let database: KessaiDatabase
    let hash: @Sendable (String) throws -> String
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock, hash: @escaping @Sendable (String) throws -> String) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
        self.hash = hash
    }

    /// An authenticated operator token.
    public struct Operator: Sendable, Equatable {
        public let tokenID: String
        public let name: String
    }

    static let prefix = "op_"
    static let randomLength = 40

    /// Creates a token for a named operator or job.
    /// - Returns: the token (shown once) and its id.
    public func create(name: String, actor: LedgerActor) async throws -> (id: String, token: Secret<String>) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 100, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.invalid("name", "An operator name is 1 to 100 printable characters.")
        }
        let token = Self.prefix + Base62.random(count: Self.randomLength)
        let id = "optok_" + Base62.random(count: 16)
        try await database.transaction { db in
            try await db.insert(into: "operator_tokens").columns("id", "name", "token_hash", "created_at")
                .values(SQLBind(id), SQLBind(trimmed), SQLBind(try hash(token)), SQLBind(clock.now().unixSeconds)).run()
            try await ledger.record(
                LedgerEntry(time: clock.now(), actor: actor, action: "operator_token.created", objects: ["operator_token": id, "name": trimmed]), on: db)
        }
        return (id, Secret(token))
    }

    /// Revokes a token by id.
    public func revoke(id: String, actor: LedgerActor) async throws -> Bool {
        try await database.transaction { db in
            let found = try await db.select().column("id").from("operator_tokens").where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null).first()
            guard found != nil else { return false }
            try await db.update("operator_tokens").set("revoked_at", to: clock.now().unixSeconds).where("id", .equal, id).run()
            try await ledger.record(LedgerEntry(time: clock.now(), actor: actor, action: "operator_token.revoked", objects: ["operator_token": id]), on: db)
            return true
        }
    }

    /// Looks a presented token up.
    /// - Returns: the operator, or `nil` when the token is malformed, unknown or revoked.
    public func authenticate(_ presented: String) async throws -> Operator? {
        guard presented.hasPrefix(Self.prefix), presented.utf8.count == Self.prefix.utf8.count + Self.randomLength,
            presented.utf8.dropFirst(Self.prefix.utf8.count).allSatisfy(Base62.isCharacter)
        else { return nil }
        let digest = try hash(presented)
        return try await database.withConnection { db in
            guard
                let row = try await db.select().columns("id", "name").from("operator_tokens")
                    .where("token_hash", .equal, digest).where("revoked_at", .is, SQLLiteral.null).first()
            else { return nil }
            return Operator(tokenID: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self))
        }
    }
}
