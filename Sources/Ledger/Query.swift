public import Foundation
import KessaiCore
import SQLKit
import Storage

/// A search of the log for an investigation: which card data was read, by whom, when and why.
public struct LedgerQuery: Sendable {
    /// Inclusive lower bound, milliseconds since the epoch.
    public var from: Int64
    /// Exclusive upper bound, milliseconds since the epoch.
    public var to: Int64
    public var action: String?
    public var actorID: String?
    public var merchant: String?
    public var token: String?
    /// At most this many rows.
    public var limit = 100_000
    /// The newest `limit` entries (still returned oldest first) instead of the oldest.
    public var newestFirst = false

    public init(from: Int64, to: Int64, action: String? = nil, actorID: String? = nil, merchant: String? = nil, token: String? = nil) {
        self.from = from
        self.to = to
        self.action = action
        self.actorID = actorID
        self.merchant = merchant
        self.token = token
    }

    /// One matching entry with its position.
    public struct Row: Sendable {
        public let seq: Int
        public let entry: LedgerEntry
    }
}

extension Ledger {
    /// Runs a query over the sequenced log (pending entries are sequenced first).
    public func query(_ query: LedgerQuery) async throws -> [LedgerQuery.Row] {
        try await sequenceAll()
        return try await database.withConnection { db in
            var select = db.select().columns("seq", "body").from("ledger_entries")
                .where("time", .greaterThanOrEqual, query.from).where("time", .lessThan, query.to)
            if let action = query.action { select = select.where("action", .equal, action) }
            if let actor = query.actorID { select = select.where("actor_id", .equal, actor) }
            if let merchant = query.merchant { select = select.where("merchant_id", .equal, merchant) }
            if let token = query.token { select = select.where("token", .equal, token) }
            let rows = try await select.orderBy("seq", query.newestFirst ? .descending : .ascending).limit(query.limit).all()
            return try (query.newestFirst ? rows.reversed() : rows).compactMap { row in
                let body = try row.decode(column: "body", as: String.self)
                guard let entry = LedgerEntry(canonical: body) else { return nil }
                return LedgerQuery.Row(seq: try row.decode(column: "seq", as: Int.self), entry: entry)
            }
        }
    }

    /// The sequenced entry at position `seq`, if there is one.
    public func entry(at seq: Int) async throws -> LedgerEntry? {
        try await database.withConnection { db in
            try await db.select().column("body").from("ledger_entries").where("seq", .equal, seq).first()
                .flatMap { LedgerEntry(canonical: try $0.decode(column: "body", as: String.self)) }
        }
    }

    /// The inclusion proof of entry `seq` in the tree of size `size` (default: the current size).
    public func inclusionProof(seq: Int, size: Int? = nil) async throws -> (leaf: Data, proof: [Data], size: Int, root: Data) {
        try await sequenceAll()
        let current = try await head().size
        let treeSize = size ?? current
        guard seq >= 0, seq < treeSize else { throw LedgerError.noSuchEntry(seq) }
        let leaves = try await leafHashes(upTo: treeSize)
        guard leaves.count == treeSize else { throw LedgerError.badRange("the log has fewer than \(treeSize) entries") }
        return (leaves[seq], Merkle.inclusionProof(index: seq, leaves: leaves[...]), treeSize, Merkle.root(leaves))
    }

    /// The consistency proof between tree sizes `old` and `new`.
    public func consistencyProof(old: Int, new: Int) async throws -> (proof: [Data], oldRoot: Data, newRoot: Data) {
        try await sequenceAll()
        guard old > 0, old <= new else { throw LedgerError.badRange("need 0 < old ≤ new") }
        let leaves = try await leafHashes(upTo: new)
        guard leaves.count == new else { throw LedgerError.badRange("the log has fewer than \(new) entries") }
        return (Merkle.consistencyProof(oldSize: old, leaves: leaves[...]), Merkle.root(leaves[..<old]), Merkle.root(leaves))
    }
}
