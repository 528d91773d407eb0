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
    /// The checkpoints kept off the host (`--checkpoint-copy`), checked at every run too: a
    /// truncation that also deleted the stored checkpoints is caught against them.
    let offHost: @Sendable () throws -> [Checkpoint]

    public init(
        database: KessaiDatabase, ledger: Ledger, publicKey: Data, incidents: IncidentStore, clock: any KessaiClock,
        offHost: @escaping @Sendable () throws -> [Checkpoint] = { [] }
    ) {
        self.verifier = LedgerVerifier(database: database, publicKey: publicKey)
        self.verifications = LedgerVerifications(database: database, ledger: ledger, clock: clock)
        self.incidents = incidents
        self.database = database
        self.clock = clock
        self.offHost = offHost
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
            report = try await (background ? verifier.background : verifier).verify(external: external + offHost())
        } catch let error as LedgerVerifierError {
            try await reportUnreadable(error, since: started, startedBy: startedBy, actor: actor, source: source)
            throw error
        } catch let error as LedgerError {
            try await reportUnreadable(error, since: started, startedBy: startedBy, actor: actor, source: source)
            throw error
        }
        let verification = try await verifications.record(
            report, duration: ContinuousClock.now - started, startedBy: startedBy, actor: actor, source: source)
        guard !report.isClean else { return Outcome(verification: verification, report: report, incident: nil) }
        let key = Self.groupKey(report.places)
        if try await incidents.resolved(key: key) != nil, try await incidents.openIncident(key: key) == nil {
            return Outcome(verification: verification, report: report, incident: nil)
        }
        let first = report.findings[0]
        let finding = Finding(
            kind: Self.kind, severity: .high, groupKey: key,
            summary: "the ledger failed verification at size \(report.size) (\(verification.id)): \(verification.findings) finding(s), first \(first)",
            seq: first.position)
        return Outcome(verification: verification, report: report, incident: try await incidents.report(finding))
    }

    /// The rows or the state were changed out of shape, so nothing can be verified: that is
    /// tampering too (one incident until people resolve it).
    func reportUnreadable(_ error: any Error, since started: ContinuousClock.Instant, startedBy: String, actor: LedgerActor, source: String?) async throws {
        _ = try await verifications.recordUnreadable(
            String(describing: error), duration: ContinuousClock.now - started, startedBy: startedBy, actor: actor, source: source)
        _ = try await incidents.report(
            Finding(
                kind: Self.kind, severity: .high, groupKey: "\(Self.kind):unreadable",
                summary: "the ledger cannot be verified: \(String(describing: error).prefix(300))"))
    }

    /// The incident kind.
    public static let kind = "ledger_tampered"

    /// The kinds and positions of every finding, the listed ones and those past the list. A
    /// truncation and a state mismatch are named by kind only: their positions move as the
    /// ledger grows.
    static func groupKey(_ places: Set<LedgerFinding.Place>) -> String {
        let parts = Set(
            places.map { place in
                switch place.kind {
                case .truncated, .stateMismatch: place.kind.rawValue
                default: "\(place.kind.rawValue)@\(place.position)"
                }
            })
        let digest = Hex.encode(SHA256.hash(data: Data(parts.sorted().joined(separator: ",").utf8)).prefix(12))
        return "\(kind):\(digest)"
    }

    static func groupKey(_ findings: [LedgerFinding]) -> String { groupKey(Set(findings.map(\.place))) }

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
