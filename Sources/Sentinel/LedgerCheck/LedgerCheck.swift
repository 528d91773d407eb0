import Crypto
public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Verifies the whole ledger, keeps the result (``LedgerVerifications``), and opens a high
/// `ledger_tampered` incident when it fails. The sentinel runs it on a schedule, one process at
/// a time (claimed in `sentinel_state`); `kessai ledger verify` and the console run it on
/// request.
///
/// One tampering is one incident: its key is the kinds and positions of the findings
/// (``groupKey(_:)``), so the next failing verification adds to the open incident, and findings people already resolved
/// (the ledger cannot be un-tampered) do not reopen one every hour. New tampering anywhere
/// changes the key and opens a new incident.
public struct LedgerCheck: Sendable {
    let verifier: LedgerVerifier
    let verifications: LedgerVerifications
    let incidents: IncidentStore
    let database: KessaiDatabase
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, publicKey: Data, incidents: IncidentStore, clock: any KessaiClock) {
        self.verifier = LedgerVerifier(database: database, publicKey: publicKey)
        self.verifications = LedgerVerifications(database: database, ledger: ledger, clock: clock)
        self.incidents = incidents
        self.database = database
        self.clock = clock
    }

    /// What one verification found and did.
    public struct Outcome: Sendable {
        public let verification: LedgerVerification
        public let report: LedgerReport
        /// The incident opened or added to; `nil` when the ledger verified, or the findings were
        /// resolved before.
        public let incident: IncidentStore.Reported?
    }

    /// Verifies now and records the result.
    /// - Parameters:
    ///   - startedBy: `schedule`, `command` or `console:<operator>`.
    ///   - external: checkpoints kept off the host, checked too.
    ///   - background: beside payments in a gateway process (the schedule, the console): on one
    ///     core at about half its time (``LedgerVerifier/background``); `false` for the command
    ///     line, where an operator waits and every core is theirs.
    public func run(
        startedBy: String, actor: LedgerActor, source: String? = nil, external: [Checkpoint] = [], background: Bool = true
    ) async throws
        -> Outcome
    {
        let started = ContinuousClock.now
        let report: LedgerReport
        do {
            report = try await (background ? verifier.background : verifier).verify(external: external)
        } catch let error as LedgerVerifierError {
            // The rows themselves were changed out of shape: that is tampering too.
            _ = try await incidents.report(
                Finding(kind: Self.kind, severity: .high, groupKey: "\(Self.kind):unreadable", summary: "the ledger cannot be verified: \(error)"))
            throw error
        }
        let verification = try await verifications.record(
            report, duration: ContinuousClock.now - started, startedBy: startedBy, actor: actor, source: source)
        guard !report.isClean else { return Outcome(verification: verification, report: report, incident: nil) }
        let key = Self.groupKey(report.findings)
        if try await incidents.resolved(key: key) != nil, try await incidents.openIncident(key: key) == nil {
            return Outcome(verification: verification, report: report, incident: nil)
        }
        let first = report.findings[0]
        let finding = Finding(
            kind: Self.kind, severity: .high, groupKey: key,
            summary: "the ledger failed verification at size \(report.size) (\(verification.id)): \(report.findings.count) finding(s), first \(first)",
            seq: first.position)
        return Outcome(verification: verification, report: report, incident: try await incidents.report(finding))
    }

    /// The incident kind.
    public static let kind = "ledger_tampered"

    /// The findings' kinds and positions. A truncation and a state mismatch are named by kind
    /// only: their positions move as the ledger grows.
    static func groupKey(_ findings: [LedgerFinding]) -> String {
        let parts = Set(
            findings.map { finding in
                switch finding.kind {
                case .truncated, .stateMismatch: finding.kind.rawValue
                default: "\(finding.kind.rawValue)@\(finding.position)"
                }
            })
        let digest = Hex.encode(SHA256.hash(data: Data(parts.sorted().joined(separator: ",").utf8)).prefix(12))
        return "\(kind):\(digest)"
    }

    /// Claims the scheduled verification: `true` when no process started one in the last
    /// `interval` seconds (this process then runs it).
    public func claim(interval: Int64) async throws -> Bool {
        let now = clock.now().unixSeconds
        return try await database.withConnection { db in
            if try await db.select().column("value").from("sentinel_state").where("name", .equal, Self.stateName).first() == nil {
                do {
                    try await db.insert(into: "sentinel_state").columns("name", "value").values(SQLBind(Self.stateName), SQLBind(now)).run()
                    return true
                } catch {
                    return false  // another process inserted it first
                }
            }
            return try await db.update("sentinel_state").set("value", to: now).where("name", .equal, Self.stateName)
                .where("value", .lessThanOrEqual, now - interval).returning("name").first() != nil
        }
    }

    static let stateName = "ledger_verify_started"
}
