public import KessaiCore
public import Logging
public import ServiceLifecycle

/// What every gateway process runs: the ledger watcher every 2 seconds, the file check every
/// ``fileInterval`` seconds and at the next round after the file system reports a change under a
/// watched path (``FileChangeSignal``: inotify on Linux), reminders for incidents nobody acknowledged every
/// ``reminderInterval`` seconds, and, beside them, a verification of the whole ledger every
/// ``verifyInterval`` seconds (``LedgerCheck``). Work is claimed through the database, so
/// processes do not double-report.
public struct SentinelService: Service {
    let watcher: LedgerWatcher
    let files: FileIntegrity?
    let fileSignal: any FileChangeSignal
    let incidents: IncidentStore
    let alerter: Alerter
    let logger: Logger
    let fileInterval: Int
    let reminderInterval: Int64
    let ledgerCheck: LedgerCheck?
    let verifyInterval: Int64

    public init(
        watcher: LedgerWatcher, files: FileIntegrity?, fileSignal: any FileChangeSignal = ScheduleOnly(), incidents: IncidentStore, alerter: Alerter,
        logger: Logger, fileInterval: Int = 15, reminderInterval: Int64 = 900, ledgerCheck: LedgerCheck? = nil, verifyInterval: Int64 = 3600
    ) {
        self.watcher = watcher
        self.files = files
        self.fileSignal = fileSignal
        self.incidents = incidents
        self.alerter = alerter
        self.logger = logger
        self.fileInterval = max(1, fileInterval)
        self.reminderInterval = reminderInterval
        self.ledgerCheck = ledgerCheck
        self.verifyInterval = max(1, verifyInterval)
    }

    public func run() async throws {
        if let files, try await files.storedBaseline() == nil {
            let count = try await files.baseline(actor: .system("sentinel"))
            logger.warning("no file baseline: took one now", metadata: ["files": "\(count)"])
        }
        await withTaskGroup(of: Void.self) { group in
            // The verification reads the whole ledger: beside the rounds, never holding them up.
            if ledgerCheck != nil { group.addTask { await verifications() } }
            var round = 0
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    try await pass(round: round)
                } catch {
                    logger.error("sentinel pass failed", metadata: ["error": "\(String(describing: error).prefix(300))"])
                }
                round += 1
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
            }
            group.cancelAll()
        }
        await alerter.shutdown()
    }

    /// Looks every few seconds whether the ledger's verification is due (a short look: one
    /// conditional update), and runs it when this process claims it.
    func verifications() async {
        let look = Duration.seconds(min(30, max(1, verifyInterval / 2)))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await verifyIfDue()
            } catch is CancellationError {
                return
            } catch {
                logger.error("ledger verification failed to run", metadata: ["error": "\(String(describing: error).prefix(300))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: look) }
        }
    }

    /// Verifies the ledger when ``verifyInterval`` seconds passed since any process last started
    /// a scheduled verification.
    /// - Returns: the outcome, `nil` when it was not due (or another process claimed it).
    @discardableResult
    public func verifyIfDue() async throws -> LedgerCheck.Outcome? {
        guard let ledgerCheck, try await ledgerCheck.claim(interval: verifyInterval) else { return nil }
        let outcome = try await ledgerCheck.run(startedBy: "schedule", actor: .system("sentinel"))
        let verification = outcome.verification
        let figures: Logger.Metadata = [
            "verification": "\(verification.id)", "size": "\(verification.size)", "findings": "\(verification.findings)",
            "duration_ms": "\(verification.durationMilliseconds)",
        ]
        if verification.isClean {
            logger.info("ledger verified", metadata: figures)
        } else {
            logger.critical("LEDGER FAILED VERIFICATION", metadata: figures.merging(["first": "\(verification.firstFinding ?? "")"]) { a, _ in a })
        }
        switch outcome.incident {
        case .opened(let incident):
            KessaiMetrics.sentinelEvents(kind: incident.kind, severity: incident.severity.rawValue, count: incident.events)
            await alerter.alert(incident, reason: "opened")
        case .grouped(let incident):
            KessaiMetrics.sentinelEvents(kind: incident.kind, severity: incident.severity.rawValue, count: 1)
        case nil: break
        }
        return outcome
    }

    /// One round: the ledger; the files every ``fileInterval`` seconds or when the file system
    /// reported a change; reminders every minute.
    public func pass(round: Int) async throws {
        var reported = try await watcher.tick()
        let notified = fileSignal.takeChanges()  // drained every round, so one change is one check
        if let files, notified || round % max(1, fileInterval / 2) == 0, let changes = try await files.changes() {
            for finding in FileIntegrity.findings(changes) { reported.append(try await incidents.report(finding)) }
        }
        for report in reported {
            switch report {
            case .opened(let incident):
                KessaiMetrics.sentinelEvents(kind: incident.kind, severity: incident.severity.rawValue, count: incident.events)
                await alerter.alert(incident, reason: "opened")
            case .grouped(let incident):
                KessaiMetrics.sentinelEvents(kind: incident.kind, severity: incident.severity.rawValue, count: 1)
            }
        }
        if round % 30 == 0 {
            for incident in try await incidents.claimRealerts(interval: reminderInterval) { await alerter.alert(incident, reason: "reminder") }
            KessaiMetrics.openIncidents(Dictionary(uniqueKeysWithValues: try await incidents.openCounts().map { ($0.key.rawValue, $0.value) }))
        }
    }
}
