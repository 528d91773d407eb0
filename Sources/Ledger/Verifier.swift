public import Foundation
import KessaiCore
import SQLKit
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

    /// What a finding is about, without its words.
    public struct Place: Sendable, Hashable {
        public let kind: Kind
        public let position: Int
    }

    public var place: Place { Place(kind: kind, position: position) }
}

/// The verifier's verdict.
public struct LedgerReport: Sendable {
    public let size: Int
    public let root: Data
    public let checkpointsChecked: Int
    /// The first ``LedgerVerifier/maximumFindings`` findings, with their details.
    public let findings: [LedgerFinding]
    /// How many findings there were in all.
    public var findingCount: Int = 0
    /// The kind and position of every finding (up to 10,000 different ones), past the listed
    /// ones too: new tampering changes this even when the list is full.
    public var places: Set<LedgerFinding.Place> = []
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
///   attacker who fixes one leaf hash but not what follows is caught at the entry (and the
///   chain goes on from the stored link, so a second break elsewhere is named at its own
///   position instead of hidden in findings for every entry after the first);
/// - at each checkpoint size the recomputed root must equal the signed one: a rewrite that was
///   made consistent everywhere is still caught there (`checkpoint_mismatch`, with the range
///   since the last matching checkpoint);
/// - a log shorter than a checkpoint was truncated: `truncated`.
public struct LedgerVerifier: Sendable {
    let database: KessaiDatabase
    let publicKey: Data
    /// Findings after which the verifier stops listing (it still reports the count of the first ones).
    public var maximumFindings = 50
    /// How many cores check entries (at most 8), and how many ranges are read ahead. All of them
    /// for an operator who waits; in the background beside payments (the sentinel's schedule,
    /// the console) one lane and one range, so a verification never takes the whole machine.
    public var lanes = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
    public var rangesAhead = 2
    /// After each batch, a rest of this many times the time reading and checking it took (0:
    /// none, and ranges are read ahead while one is checked): at 3 a run takes about a quarter
    /// of one core, and four times as long as on one core without rest.
    public var yieldFactor = 0.0

    /// The verifier for a background run: one lane, one range at a time, resting three times as
    /// long as it works.
    public var background: LedgerVerifier {
        var verifier = self
        verifier.lanes = 1
        verifier.rangesAhead = 1
        verifier.yieldFactor = 3
        return verifier
    }

    public init(database: KessaiDatabase, publicKey: Data) {
        self.database = database
        self.publicKey = publicKey
    }

    /// Verifies the log against the stored checkpoints and `external` ones.
    public func verify(external: [Checkpoint] = [], batchSize: Int = 20_000) async throws -> LedgerReport {
        var findings: [LedgerFinding] = []
        var findingCount = 0
        var places: Set<LedgerFinding.Place> = []
        func note(_ kind: LedgerFinding.Kind, _ position: Int, _ detail: String) {
            findingCount += 1
            if places.count < 10_000 { places.insert(LedgerFinding.Place(kind: kind, position: position)) }
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
        var mismatchedSince: Int? = nil

        // After pruning, the online log starts where the last exported segment ended, from the
        // tree state kept for it; that state must have the signed root at that size.
        let (start, startRange, startChain) = try await LedgerRetention(ledger: Ledger(database: database, clock: SystemClock())).onlineStart()
        var range = startRange
        var chain: MerkleHash? = nil
        if !startChain.isEmpty {
            chain = MerkleHash(startChain)
            if chain == nil { note(.checkpointMismatch, start, "the kept chain link at the pruning point is not a hash") }
        }
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
        // Batches are read packed (no object per row or value), by position range, two at a time
        // (``rangesAhead``; each on its own connection or reader thread) while the one before is
        // checked. Each batch's entries are checked on every core (``lanes``): the leaf hashes, canonical form and query
        // columns of entries are independent of one another; only the chain and the tree are
        // carried from entry to entry.
        let database = self.database
        @Sendable func fetch(_ positions: ClosedRange<Int>) async throws -> RowBatch {
            try await database.readBatch(
                "SELECT seq, time, actor_kind, actor_id, action, merchant_id, token, request_id, body, leaf_hash, chain_hash FROM ledger_entries WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
                [Int64(positions.lowerBound), Int64(positions.upperBound)], columns: 11, expectedRows: positions.count)
        }
        let lanes = max(1, min(8, self.lanes))
        @Sendable func checkAll(_ batch: RowBatch) async throws -> [[CheckedEntry]] {
            try await withThrowingTaskGroup(of: (Int, [CheckedEntry]).self) { group in
                let laneSize = (batch.count + lanes - 1) / lanes
                for lane in 0..<lanes where lane * laneSize < batch.count {
                    group.addTask {
                        let rows = (lane * laneSize)..<min(batch.count, (lane + 1) * laneSize)
                        return (lane, try batch.withView { view in try rows.map { try LedgerVerifier.check(view, row: $0) } })
                    }
                }
                var parts = [[CheckedEntry]](repeating: [], count: lanes)
                for try await (lane, part) in group { parts[lane] = part }
                return parts
            }
        }
        // Ranges up to the highest stored position when the verification began, so a deleted run
        // of entries cannot end the reading early. Not further: a range read while the sequencer
        // is still filling it comes back short, and the entries added to it after would look
        // missing; what was appended since is read up to the state's size below.
        // Positions are attacker-controlled: a range that comes back empty skips straight to the
        // next stored position (a position moved far ahead must not mean billions of empty
        // reads), and the ranges end at Int64.max without overflowing.
        @Sendable func firstStored(from: Int) async throws -> Int? {
            let next = try await database.readBatch("SELECT MIN(seq) FROM ledger_entries WHERE seq >= $1", [Int64(from)], columns: 1)
            return next.withView { $0.integer(0, 0) }.map { Int($0) }
        }
        let highest = try await database.readBatch("SELECT MAX(seq) FROM ledger_entries", [], columns: 1).withView { $0.integer(0, 0) }.map { Int($0) }
        func belowHighest(_ position: Int?) -> Bool {
            guard let position, let highest else { return false }
            return position <= highest
        }
        var nextStart: Int? = expected  // nil: past Int64.max
        var pending: [Task<RowBatch, any Error>] = []
        func readAhead() {
            guard let start = nextStart else { return }
            let end = start > Int.max - (batchSize - 1) ? Int.max : start + (batchSize - 1)
            pending.append(Task { try await fetch(start...end) })
            nextStart = end == Int.max ? nil : end + 1
        }
        while pending.count < max(1, rangesAhead), belowHighest(nextStart) { readAhead() }
        if pending.isEmpty { readAhead() }
        // Checks a batch and carries the chain, the tree and the checkpoints through it.
        func consume(_ batch: RowBatch) async throws {
            for part in try await checkAll(batch) {
                for entry in part {
                    let seq = entry.seq
                    if seq != expected {
                        note(.missingEntry, expected, "positions \(expected)…\(seq - 1) are missing")
                        // Carry on from here so later checks still run.
                        expected = seq
                    }
                    for (kind, detail) in entry.problems { note(kind, seq, detail) }
                    range.append(entry.leaf)
                    let link = Merkle.chain(chain, entry.leaf)
                    chain = link
                    if entry.storedChain != link {
                        note(.alteredEntry, seq, "the chain link recorded with this entry differs from the recomputed one")
                        // On from the stored link: each break is reported at its own position,
                        // not at every entry after the first one. The tree is still built from
                        // the recomputed leaves, so the checkpoints still catch what follows.
                        if let stored = entry.storedChain { chain = stored }
                    }
                    while nextCheckpoint < checkpoints.count, checkpoints[nextCheckpoint].size == range.size {
                        let checkpoint = checkpoints[nextCheckpoint]
                        if checkpoint.root != range.root {
                            // Every later checkpoint mismatches since the same last good one: one finding.
                            guard mismatchedSince != lastGood else {
                                nextCheckpoint += 1
                                continue
                            }
                            mismatchedSince = lastGood
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
                    expected = seq == Int.max ? seq : seq + 1
                }
            }
        }
        while !pending.isEmpty {
            let cycle = ContinuousClock.now
            let batch = try await pending.removeFirst().value
            if batch.count == 0, let start = nextStart, belowHighest(start) {
                nextStart = try await firstStored(from: start)
            }
            let more = belowHighest(nextStart)
            guard yieldFactor > 0 else {
                if more { readAhead() }
                if batch.count > 0 { try await consume(batch) }
                continue
            }
            // In the background: read, check, then rest for the time both took times the factor,
            // and only then read the next range (no read runs during the rest).
            if batch.count > 0 { try await consume(batch) }
            try await Task.sleep(for: (ContinuousClock.now - cycle) * yieldFactor)
            if more { readAhead() }
        }
        // Entries sequenced while the ranges were read: a busy gateway keeps appending, so the
        // state read now may be ahead of the last range read. The state is written in the same
        // transaction as its entries, so every entry it counts is there to read: read up to
        // exactly its size (not further: it would move on again) and compare there. A state
        // behind the entries read is a finding.
        let (state, stateChain) = try await database.withConnection { db in try await Ledger.state(on: db, lock: false) }
        // A forged size far past the entries must not mean billions of empty reads: an empty
        // range skips to the next stored position, and none left ends the reading.
        var from = expected
        while range.size < state.size, from < state.size {
            let to = min(state.size - 1, from > Int.max - (batchSize - 1) ? Int.max : from + batchSize - 1)
            let cycle = ContinuousClock.now
            let batch = try await fetch(from...to)
            if batch.count > 0 {
                try await consume(batch)
                if yieldFactor > 0 { try await Task.sleep(for: (ContinuousClock.now - cycle) * yieldFactor) }
            } else {
                guard let next = try await firstStored(from: from), next > to else { break }
                from = next
                continue
            }
            guard to < Int.max else { break }
            from = to + 1
        }
        if let largest = checkpoints.last, largest.size > range.size {
            note(.truncated, range.size, "a checkpoint was signed at size \(largest.size) but the log has \(range.size) entries")
        }
        if state != range || stateChain != (chain?.data ?? Data()) {
            note(.stateMismatch, min(state.size, range.size), "ledger_state says size \(state.size); the entries make \(range.size)")
        }
        var report = LedgerReport(size: range.size, root: range.root, checkpointsChecked: checkpoints.count, findings: findings)
        report.findingCount = findingCount
        report.places = places
        return report
    }

    /// An entry moved from elsewhere still matches the leaf of its original position.
    static func findPosition(of body: UnsafeBufferPointer<UInt8>, leaf: MerkleHash, near seq: Int) -> Int? {
        for candidate in max(0, seq - 1_000)...(min(seq, Int.max - 1_000) + 1_000) where candidate != seq {
            if CanonicalCheck.leafHash(canonical: body, seq: Int64(candidate)) == leaf { return candidate }
        }
        return nil
    }
}

/// What checking one entry on its own found.
struct CheckedEntry: Sendable {
    let seq: Int
    let leaf: MerkleHash
    /// `nil` when the stored link is not a 32-byte value.
    let storedChain: MerkleHash?
    let problems: [(LedgerFinding.Kind, String)]
}

/// The verifier could not read the entries at all.
public enum LedgerVerifierError: Error, CustomStringConvertible {
    case unreadable

    public var description: String { "the ledger_entries rows do not have the expected columns" }
}

extension LedgerVerifier {
    /// Checks what can be checked of one entry without the others: its leaf hash, canonical form
    /// and query columns. Columns in order: seq, time, actor_kind, actor_id, action, merchant_id,
    /// token, request_id, body, leaf_hash, chain_hash.
    static func check(_ view: RowBatch.View, row: Int) throws -> CheckedEntry {
        guard let seq64 = view.integer(row, 0) else { throw LedgerVerifierError.unreadable }
        let seq = Int(seq64)
        var problems: [(LedgerFinding.Kind, String)] = []
        let body = view.type(row, 8) == .text ? view.bytes(row, 8) : nil
        let text = body ?? UnsafeBufferPointer(start: nil, count: 0)
        if body == nil { problems.append((.alteredEntry, "the entry is not text")) }
        let leaf = CanonicalCheck.leafHash(canonical: text, seq: seq64)
        let storedLeaf = blob(view, row, 9)
        if body != nil, leaf != storedLeaf {
            if let storedLeaf, let elsewhere = findPosition(of: text, leaf: storedLeaf, near: seq) {
                problems.append((.wrongPosition, "the entry stored here was written at position \(elsewhere)"))
            } else {
                problems.append((.alteredEntry, "the entry does not match its leaf hash"))
            }
        }
        func column(_ index: Int) -> CanonicalCheck.Column {
            switch view.type(row, index) {
            case .null: .null
            case .text: view.bytes(row, index).map { .text($0) } ?? .wrongType
            default: .wrongType
            }
        }
        let columns = CanonicalCheck.Columns(
            time: view.integer(row, 1), actorKind: column(2), actorID: column(3), action: column(4), merchant: column(5), token: column(6),
            requestID: column(7))
        if body != nil {
            switch CanonicalCheck.check(text, against: columns) {
            case .matches: break
            case .columnsDiffer: problems.append((.alteredColumns, "the query columns differ from the entry"))
            case .undecided:
                if let entry = LedgerEntry(canonical: String(decoding: text, as: UTF8.self)) {
                    let matches =
                        columns.time == entry.time && columns.actorKind.holds(entry.actor.kind.rawValue) && columns.actorID.holds(entry.actor.id)
                        && columns.action.holds(entry.action) && columns.merchant.holds(entry.objects["merchant"])
                        && columns.token.holds(entry.objects["token"]) && columns.requestID.holds(entry.requestID)
                    if !matches { problems.append((.alteredColumns, "the query columns differ from the entry")) }
                } else {
                    problems.append((.alteredEntry, "the entry is not in canonical form"))
                }
            }
        }
        return CheckedEntry(seq: seq, leaf: leaf, storedChain: blob(view, row, 10), problems: problems)
    }

    /// A stored 32-byte hash; `nil` for anything else.
    private static func blob(_ view: RowBatch.View, _ row: Int, _ column: Int) -> MerkleHash? {
        guard view.type(row, column) == .blob, let bytes = view.bytes(row, column) else { return nil }
        return MerkleHash(UnsafeRawBufferPointer(bytes))
    }
}
