public import KessaiCore
public import Logging
public import ServiceLifecycle

/// What every gateway process runs: the ledger watcher every 2 seconds, the file check every
/// ``fileInterval`` seconds and at the next round after the file system reports a change under a
/// watched path (``FileChangeSignal``: inotify on Linux), reminders for incidents nobody acknowledged every
/// ``reminderInterval`` seconds. Work is claimed through the database, so processes do not
/// double-report.
public struct SentinelService: Service {
    let watcher: LedgerWatcher
    let files: FileIntegrity?
    let fileSignal: any FileChangeSignal
    let incidents: IncidentStore
    let alerter: Alerter
    let logger: Logger
    let fileInterval: Int
    let reminderInterval: Int64

    public init(
        watcher: LedgerWatcher, files: FileIntegrity?, fileSignal: any FileChangeSignal = ScheduleOnly(), incidents: IncidentStore, alerter: Alerter,
        logger: Logger, fileInterval: Int = 15, reminderInterval: Int64 = 900
    ) {
        self.watcher = watcher
        self.files = files
        self.fileSignal = fileSignal
        self.incidents = incidents
        self.alerter = alerter
        self.logger = logger
        self.fileInterval = max(1, fileInterval)
        self.reminderInterval = reminderInterval
    }

    public func run() async throws {
        if let files, try await files.storedBaseline() == nil {
            let count = try await files.baseline(actor: .system("sentinel"))
            logger.warning("no file baseline: took one now", metadata: ["files": "\(count)"])
        }
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
        await alerter.shutdown()
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
