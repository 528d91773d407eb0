public import KessaiCore
import Logging
public import SQLKit
public import Storage

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The tamper-evident record of every card-data access and security event.
///
/// Writing is two steps. ``record(_:on:)`` inserts the entry into `ledger_pending` on the
/// caller's own transaction — so an access and its entry commit together, and writers never
/// contend. ``sequence(limit:)`` then moves pending entries into the Merkle log in batches
/// under one lock on `ledger_state`: it gives each its position, hashes it as an RFC 9162 leaf,
/// and keeps the tree's compact range (and so its root) in `ledger_state`. Signed checkpoints
/// of (size, root) anchor the log; see ``LedgerVerifier``.
public struct Ledger: Sendable {
    public let database: KessaiDatabase
    let clock: any KessaiClock
    /// False only for the benchmark's baseline (`kessai serve --benchmark-without-ledger`,
    /// refused outside development mode): then nothing is recorded.
    let recording: Bool

    /// This process's name, stamped on every entry it writes (see ``LedgerEntry/instance``).
    public let instance: String?

    public init(database: KessaiDatabase, clock: any KessaiClock, recording: Bool = true, instance: String? = nil) {
        self.database = database
        self.clock = clock
        self.recording = recording
        self.instance = instance
    }

    /// The entry as this process writes it: with its instance, unless it names one already.
    public func stamped(_ entry: LedgerEntry) -> LedgerEntry {
        guard entry.instance == nil, let instance else { return entry }
        var entry = entry
        entry.instance = instance
        return entry
    }

    /// Records an entry on the caller's connection or transaction.
    public func record(_ entry: LedgerEntry, on db: any SQLDatabase) async throws {
        guard recording else { return }
        try await db.insert(into: "ledger_pending").columns("body").values(SQLBind(stamped(entry).canonical)).run()
    }

    /// The insert ``record(_:on:)`` runs, for a caller that batches it with its own writes on
    /// the same transaction; `nil` when nothing is recorded (the benchmark baseline).
    public func insertion(_ entry: LedgerEntry, on db: any SQLDatabase) -> (any SQLExpression)? {
        guard recording else { return nil }
        return db.insert(into: "ledger_pending").columns("body").values(SQLBind(stamped(entry).canonical)).query
    }

    /// The insert of one pending entry as a part of a ``Storage/ConstantWriteBatch``; its value
    /// is ``pendingValues(_:)``.
    public enum PendingInsert: ConstantStatement {
        // A NULL body inserts nothing: a batch keeps its shape when there is no entry.
        public static let text = "INSERT INTO ledger_pending (body) SELECT $1 WHERE $1 IS NOT NULL"
        public static let parameters: [SQLValue.Kind] = [.text]
    }

    /// The values of ``PendingInsert`` for an entry (none when `nil` or when nothing is recorded).
    public func pendingValues(_ entry: LedgerEntry?) -> [SQLValue] {
        [.text(recording ? entry.map { stamped($0).canonical } : nil)]
    }

    /// Records an entry in a statement of its own.
    public func record(_ entry: LedgerEntry) async throws {
        try await database.withConnection { db in try await record(entry, on: db) }
    }

    /// The log's current size and root, as `ledger_state` holds them.
    public func head() async throws -> (size: Int, root: Data) {
        try await database.withConnection { db in
            let range = try await Self.state(on: db, lock: false).range
            return (range.size, range.root)
        }
    }

    /// Moves up to `limit` pending entries into the log.
    /// - Returns: how many were sequenced.
    @discardableResult
    public func sequence(limit: Int = 5_000) async throws -> Int {
        try await database.transaction { db in
            var (range, chain) = try await Self.state(on: db, lock: true)
            let pending = try await db.select().columns("id", "body").from("ledger_pending")
                .orderBy("id").limit(limit).all()
            guard !pending.isEmpty else { return 0 }
            var ids: [Int64] = []
            var rows: [[any Encodable & Sendable]] = []
            ids.reserveCapacity(pending.count)
            rows.reserveCapacity(pending.count)
            for row in pending {
                let body = try row.decode(column: "body", as: String.self)
                ids.append(try row.decode(column: "id", as: Int64.self))
                let seq = Int64(range.size)
                let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: seq))
                range.append(leaf)
                chain = Merkle.chain(chain, leaf)
                let fields = LedgerEntry(canonical: body)
                rows.append([
                    seq, fields?.time ?? 0, fields?.actor.kind.rawValue ?? "", fields?.actor.id ?? "", fields?.action ?? "",
                    fields?.objects["merchant"], fields?.objects["token"], fields?.requestID, body, leaf, chain,
                ])
            }
            for chunk in stride(from: 0, to: rows.count, by: 1_000) {
                var insert = db.insert(into: "ledger_entries").columns(Self.entryColumns)
                for row in rows[chunk..<min(chunk + 1_000, rows.count)] {
                    insert = insert.values(row.map { SQLBind($0) })
                }
                try await insert.run()
            }
            for chunk in stride(from: 0, to: ids.count, by: 1_000) {
                try await db.delete(from: "ledger_pending").where("id", .in, Array(ids[chunk..<min(chunk + 1_000, ids.count)])).run()
            }
            try await db.update("ledger_state").set("size", to: range.size).set("frontier", to: SQLBind(range.packed))
                .set("chain", to: SQLBind(chain)).where("id", .equal, 1).run()
            return pending.count
        }
    }

    /// Sequences everything pending.
    public func sequenceAll() async throws {
        while try await sequence() > 0 {}
    }

    static let entryColumns = [
        "seq", "time", "actor_kind", "actor_id", "action", "merchant_id", "token", "request_id", "body", "leaf_hash", "chain_hash",
    ]

    static func state(on db: any SQLDatabase, lock: Bool) async throws -> (range: CompactRange, chain: Data) {
        var query = db.select().columns("size", "frontier", "chain").from("ledger_state").where("id", .equal, 1)
        if lock { query = query.for(.update) }
        guard let row = try await query.first() else { throw LedgerError.corruptState("ledger_state has no row") }
        let size = try row.decode(column: "size", as: Int.self)
        let frontier = try row.decode(column: "frontier", as: Data.self)
        guard let range = CompactRange(size: size, packed: frontier) else {
            throw LedgerError.corruptState("ledger_state's frontier does not fit its size \(size)")
        }
        return (range, try row.decode(column: "chain", as: Data.self))
    }

    /// Leaf hashes of positions `0..<size`, in order (for proofs).
    public func leafHashes(upTo size: Int) async throws -> [Data] {
        try await database.withConnection { db in
            try await db.select().column("leaf_hash").from("ledger_entries").where("seq", .lessThan, size)
                .orderBy("seq").all().enumerated().map { position, row in
                    let leaf = try row.decode(column: "leaf_hash", as: Data.self)
                    // A proof over a leaf that is not a hash would prove nothing.
                    guard leaf.count == 32 else {
                        throw LedgerError.corruptState("the leaf hash at position \(position) is not 32 bytes; run kessai ledger verify")
                    }
                    return leaf
                }
        }
    }
}

/// Ledger failures that are not tampering findings (those are ``LedgerFinding``).
public enum LedgerError: Error, CustomStringConvertible {
    case corruptState(String)
    case noSuchEntry(Int)
    case badRange(String)

    public var description: String {
        switch self {
        case .corruptState(let why): "ledger state is corrupt: \(why)"
        case .noSuchEntry(let seq): "no ledger entry at position \(seq)"
        case .badRange(let why): why
        }
    }
}
