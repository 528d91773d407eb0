public import Foundation
public import KessaiCore
public import SQLKit
public import Storage

/// One thing the verifier found wrong, with the position it concerns.
public struct LedgerFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case missingEntry = "missing_entry"
        case alteredEntry = "altered_entry"
        case alteredColumns = "altered_columns"
        case wrongPosition = "wrong_position"
        case checkpointMismatch = "checkpoint_mismatch"
        case truncated
        case badSignature = "bad_signature"
        case stateMismatch = "state_mismatch"
    }

    public let kind: Kind
    /// The log position (0-based) the finding is about.
    public let position: Int
    public let detail: String

    public var description: String { "\(kind.rawValue) at position \(position): \(detail)" }
}

/// The verifier's verdict.
public struct LedgerReport: Sendable {
    public let size: Int
    public let root: Data
    public let checkpointsChecked: Int
    public let findings: [LedgerFinding]
    public var isClean: Bool { findings.isEmpty }
}

/// Recomputes the whole tree from the stored entries and checks it against every signed
/// checkpoint (stored, and optionally an off-host copy).
///
/// What each check catches:
/// - positions must run 0, 1, 2 … without a gap: a deleted entry is `missing_entry`;
/// - each entry must be in canonical form and its stored leaf hash must be
///   SHA-256(0x00 ‖ {"entry":…,"seq":position}): a changed byte, or an entry moved to another
///   position, is `altered_entry` / `wrong_position` at that position;
/// - the query columns must agree with the entry: `altered_columns`;
/// - each stored `chain_hash` must be the position chain recomputed up to that entry, so an
///   attacker who fixes one leaf hash but not what follows is caught at the entry;
/// - at each checkpoint size the recomputed root must equal the signed one: a rewrite that was
///   made consistent everywhere is still caught there (`checkpoint_mismatch`, with the range
///   since the last matching checkpoint);
/// - a log shorter than a checkpoint was truncated: `truncated`.
public struct LedgerVerifier: Sendable {
    let database: KessaiDatabase
    let publicKey: Data
    /// Findings after which the verifier stops listing (it still reports the count of the first ones).
    public var maximumFindings = 50

    public init(database: KessaiDatabase, publicKey: Data) {
        self.database = database
        self.publicKey = publicKey
    }

    /// Verifies the log against the stored checkpoints and `external` ones.
    public func verify(external: [Checkpoint] = [], batchSize: Int = 20_000) async throws -> LedgerReport {
        var findings: [LedgerFinding] = []
        func note(_ kind: LedgerFinding.Kind, _ position: Int, _ detail: String) {
            if findings.count < maximumFindings { findings.append(LedgerFinding(kind: kind, position: position, detail: detail)) }
        }
        let stored = try await Ledger(database: database, clock: SystemClock()).checkpoints()
        var checkpoints: [Checkpoint] = []
        for checkpoint in stored + external {
            if checkpoint.verify(publicKey: publicKey) {
                checkpoints.append(checkpoint)
            } else {
                note(.badSignature, checkpoint.size, "checkpoint for size \(checkpoint.size) does not verify under key \(Checkpoint.keyID(of: publicKey))")
            }
        }
        checkpoints.sort { $0.size < $1.size }
        var nextCheckpoint = 0
        var lastGood = 0

        // After pruning, the online log starts where the last exported segment ended, from the
        // tree state kept for it; that state must have the signed root at that size.
        let (start, startRange, startChain) = try await LedgerRetention(ledger: Ledger(database: database, clock: SystemClock())).onlineStart()
        var range = startRange
        var chain = startChain
        var expected = start
        if start > 0 {
            if let anchor = checkpoints.first(where: { $0.size == start }) {
                if anchor.root != range.root {
                    note(.checkpointMismatch, start, "the kept tree state at the pruning point does not have the signed root")
                } else {
                    lastGood = start
                }
            } else {
                note(.checkpointMismatch, start, "no checkpoint anchors the pruning point \(start)")
            }
            nextCheckpoint = checkpoints.firstIndex { $0.size > start } ?? checkpoints.count
        }
        // Read the next batch while this one is hashed: the database and the hashing then use
        // both cores.
        let database = self.database
        @Sendable func fetch(from: Int) async throws -> RowBatch {
            RowBatch(
                rows: try await database.withConnection { db in
                    try await db.select().columns(Ledger.entryColumns).from("ledger_entries")
                        .where("seq", .greaterThanOrEqual, from).orderBy("seq").limit(batchSize).all()
                })
        }
        let first = expected
        var pending = Task { try await fetch(from: first) }
        while true {
            let rows = try await pending.value.rows
            if rows.isEmpty { break }
            let after = try rows[rows.count - 1].decode(column: "seq", as: Int.self) + 1
            pending = Task { try await fetch(from: after) }
            for row in rows {
                let seq = try row.decode(column: "seq", as: Int.self)
                if seq != expected {
                    note(.missingEntry, expected, "positions \(expected)…\(seq - 1) are missing")
                    // Carry on from here so later checks still run.
                    expected = seq
                }
                let body = try row.decode(column: "body", as: String.self)
                let storedLeaf = try row.decode(column: "leaf_hash", as: Data.self)
                let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: Int64(seq)))
                if leaf != storedLeaf {
                    let elsewhere = LedgerVerifier.findPosition(of: body, leaf: storedLeaf, near: seq)
                    if let elsewhere {
                        note(.wrongPosition, seq, "the entry stored here was written at position \(elsewhere)")
                    } else {
                        note(.alteredEntry, seq, "the entry does not match its leaf hash")
                    }
                }
                if let entry = LedgerEntry(canonical: body) {
                    let columns: [String?] = [
                        try row.decode(column: "actor_kind", as: String.self), try row.decode(column: "actor_id", as: String.self),
                        try row.decode(column: "action", as: String.self), try row.decode(column: "merchant_id", as: String?.self),
                        try row.decode(column: "token", as: String?.self), try row.decode(column: "request_id", as: String?.self),
                    ]
                    let fromEntry: [String?] = [
                        entry.actor.kind.rawValue, entry.actor.id, entry.action, entry.objects["merchant"], entry.objects["token"], entry.requestID,
                    ]
                    let storedTime = try row.decode(column: "time", as: Int64.self)
                    if columns != fromEntry || storedTime != entry.time {
                        note(.alteredColumns, seq, "the query columns differ from the entry")
                    }
                } else {
                    note(.alteredEntry, seq, "the entry is not in canonical form")
                }
                range.append(leaf)
                chain = Merkle.chain(chain, leaf)
                if try row.decode(column: "chain_hash", as: Data.self) != chain {
                    note(.alteredEntry, seq, "the chain link recorded with this entry differs from the recomputed one")
                }
                while nextCheckpoint < checkpoints.count, checkpoints[nextCheckpoint].size == range.size {
                    let checkpoint = checkpoints[nextCheckpoint]
                    if checkpoint.root != range.root {
                        note(
                            .checkpointMismatch, lastGood,
                            "the log up to \(checkpoint.size) no longer has the signed root; the change is at a position from \(lastGood) to \(checkpoint.size - 1)"
                        )
                    } else {
                        lastGood = checkpoint.size
                    }
                    nextCheckpoint += 1
                }
                while nextCheckpoint < checkpoints.count, checkpoints[nextCheckpoint].size < range.size {
                    nextCheckpoint += 1
                }
                expected = seq + 1
            }
        }
        if let largest = checkpoints.last, largest.size > range.size {
            note(.truncated, range.size, "a checkpoint was signed at size \(largest.size) but the log has \(range.size) entries")
        }
        let (state, stateChain) = try await database.withConnection { db in try await Ledger.state(on: db, lock: false) }
        if state != range || stateChain != chain {
            note(.stateMismatch, min(state.size, range.size), "ledger_state says size \(state.size); the entries make \(range.size)")
        }
        return LedgerReport(size: range.size, root: range.root, checkpointsChecked: checkpoints.count, findings: findings)
    }

    /// An entry moved from elsewhere still matches the leaf of its original position.
    static func findPosition(of body: String, leaf: Data, near seq: Int) -> Int? {
        for candidate in max(0, seq - 1_000)...(seq + 1_000) where candidate != seq {
            if Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: Int64(candidate))) == leaf { return candidate }
        }
        return nil
    }
}

/// Rows read by one query, handed from the reading task to the hashing one. Rows are values that
/// are not mutated after the read.
private struct RowBatch: @unchecked Sendable {
    let rows: [any SQLRow]
}
