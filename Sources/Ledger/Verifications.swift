public import Foundation
public import KessaiCore
import SQLKit
public import Storage

/// One finished verification of the ledger, as the console and the metrics report it.
public struct LedgerVerification: Sendable, Equatable {
    /// `lvr_…`
    public let id: String
    /// When it finished (Unix milliseconds).
    public let finishedAt: Int64
    public let size: Int
    /// The recomputed root, in hex.
    public let root: String
    public let checkpoints: Int
    /// How many findings (0: the ledger verified).
    public let findings: Int
    /// The first finding, for the person reading the result.
    public let firstFinding: String?
    public let durationMilliseconds: Int64
    /// The process that ran it (`--instance`).
    public let instance: String
    /// What started it: `schedule` (the sentinel), `command` (`kessai ledger verify`) or
    /// `console:<operator>`.
    public let startedBy: String

    public var isClean: Bool { findings == 0 }
}

/// Where verifications are kept: a row each, and a `ledger.verified` entry in the ledger itself,
/// so a deleted row is still seen in the tamper-evident trail.
public struct LedgerVerifications: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
    }

    /// Records a verifier's report.
    /// - Parameters:
    ///   - duration: how long the verification took.
    ///   - startedBy: `schedule`, `command` or `console:<operator>`.
    ///   - actor: who is recorded in the ledger entry.
    public func record(
        _ report: LedgerReport, duration: Duration, startedBy: String, actor: LedgerActor, source: String? = nil
    ) async throws
        -> LedgerVerification
    {
        try await record(
            size: report.size, root: Hex.encode(report.root), checkpoints: report.checkpointsChecked,
            findings: max(report.findingCount, report.findings.count), first: report.findings.first?.description, duration: duration,
            startedBy: startedBy, actor: actor, source: source)
    }

    /// Records a verification that could not read the ledger at all (its rows or state out of
    /// shape): a failure with that one finding.
    public func recordUnreadable(
        _ reason: String, duration: Duration, startedBy: String, actor: LedgerActor, source: String? = nil
    ) async throws
        -> LedgerVerification
    {
        try await record(
            size: 0, root: "", checkpoints: 0, findings: 1, first: "unreadable: \(reason)", duration: duration, startedBy: startedBy, actor: actor,
            source: source)
    }

    private func record(
        size: Int, root: String, checkpoints: Int, findings: Int, first: String?, duration: Duration, startedBy: String, actor: LedgerActor,
        source: String?
    ) async throws -> LedgerVerification {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        let verification = LedgerVerification(
            id: "lvr_" + Base62.random(count: 20), finishedAt: Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down)), size: size,
            root: root, checkpoints: checkpoints, findings: findings, firstFinding: first.map { String($0.prefix(300)) },
            durationMilliseconds: milliseconds, instance: ledger.instance ?? "unnamed", startedBy: String(startedBy.prefix(100)))
        let entry = LedgerEntry(
            time: clock.now(), actor: actor, action: "ledger.verified",
            objects: [
                "verification": verification.id, "size": String(verification.size), "root": verification.root,
                "findings": String(verification.findings), "started_by": verification.startedBy,
            ], source: source, outcome: verification.isClean ? "success" : "failure")
        try await database.transaction { db in
            try await db.insert(into: "ledger_verifications")
                .columns("id", "finished_at", "size", "root", "checkpoints", "findings", "first_finding", "duration_ms", "instance", "started_by")
                .values(
                    SQLBind(verification.id), SQLBind(verification.finishedAt), SQLBind(Int64(verification.size)), SQLBind(verification.root),
                    SQLBind(verification.checkpoints), SQLBind(verification.findings), SQLBind(verification.firstFinding),
                    SQLBind(verification.durationMilliseconds), SQLBind(verification.instance), SQLBind(verification.startedBy)
                ).run()
            try await ledger.record(entry, on: db)
        }
        KessaiMetrics.ledgerVerified(at: verification.finishedAt / 1000, findings: verification.findings)
        return verification
    }

    /// The newest verification; `nil` when none has run.
    public func latest() async throws -> LedgerVerification? {
        try await recent(limit: 1).first
    }

    /// The newest verifications, newest first.
    public func recent(limit: Int = 10) async throws -> [LedgerVerification] {
        try await database.withConnection { db in
            try await db.select()
                .columns("id", "finished_at", "size", "root", "checkpoints", "findings", "first_finding", "duration_ms", "instance", "started_by")
                .from("ledger_verifications").orderBy("finished_at", .descending).orderBy("id", .descending).limit(max(1, min(limit, 100))).all()
                .map { row in
                    LedgerVerification(
                        id: try row.decode(column: "id", as: String.self), finishedAt: try row.decode(column: "finished_at", as: Int64.self),
                        size: try row.decode(column: "size", as: Int.self), root: try row.decode(column: "root", as: String.self),
                        checkpoints: try row.decode(column: "checkpoints", as: Int.self), findings: try row.decode(column: "findings", as: Int.self),
                        firstFinding: try row.decode(column: "first_finding", as: String?.self),
                        durationMilliseconds: try row.decode(column: "duration_ms", as: Int64.self),
                        instance: try row.decode(column: "instance", as: String.self), startedBy: try row.decode(column: "started_by", as: String.self))
                }
        }
    }
}
