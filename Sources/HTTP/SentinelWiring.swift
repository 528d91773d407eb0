import Ledger
import Logging
import Sentinel
import Webhooks

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Gateway {
    /// The incidents, shared by every process.
    public var incidents: IncidentStore { IncidentStore(database: database, ledger: ledger, clock: clock) }

    /// What the file check watches: `web/` always, the binary's folder when configured (by
    /// default in production), and the extra paths.
    public func fileIntegrity(webRoot: String? = nil) -> FileIntegrity {
        let binary = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").standardizedFileURL.resolvingSymlinksInPath().deletingLastPathComponent().path
        let watchBinary = configuration.watchBinaryFolder ?? (configuration.mode == .production)
        let folders = configuration.watchedPaths.filter { (try? FileManager.default.contentsOfDirectory(atPath: $0)) != nil }
        let files = configuration.watchedPaths.filter { !folders.contains($0) }
        return FileIntegrity(
            shallow: watchBinary ? [binary] : [], deep: [WebRoot.resolve(webRoot ?? configuration.webRoot)].compactMap { $0 } + folders, files: files,
            database: database,
            ledger: ledger, clock: clock)
    }

    /// Verifies the whole ledger and keeps the result; a failure is an incident.
    public func ledgerCheck() throws -> LedgerCheck {
        let copy = configuration.checkpointCopyFile
        return LedgerCheck(
            database: database, ledger: ledger, publicKey: try keySource.checkpointPublicKey(), incidents: incidents, clock: clock,
            offHost: {
                // The copy `--checkpoint-copy` appends to (a line a checkpoint); lines that do not
                // read as one are left out here (`kessai ledger verify --checkpoint` refuses them).
                guard let copy, FileManager.default.fileExists(atPath: copy) else { return [] }
                return try String(contentsOfFile: copy, encoding: .utf8).split(separator: "\n").compactMap { Checkpoint(jsonLine: String($0)) }
            })
    }

    /// The sentinel service this process runs.
    func sentinelService() throws -> SentinelService {
        let webhook = configuration.opsWebhookURL.flatMap { url in configuration.opsWebhookSecret.map { Alerter.OpsWebhook(url: url, secret: $0) } }
        let alerter = Alerter(
            database: database, clock: clock, logger: logger, webhook: webhook,
            sender: webhook == nil ? nil : LiveWebhookSender(publicAddressesOnly: configuration.webhooksPublicOnly))
        let files = fileIntegrity()
        return SentinelService(
            watcher: LedgerWatcher(database: database, incidents: incidents, clock: clock), files: files, fileSignal: files.changeSignal(),
            incidents: incidents, alerter: alerter, logger: logger, fileInterval: configuration.fileCheckInterval,
            reminderInterval: configuration.incidentReminderInterval, ledgerCheck: try ledgerCheck(), verifyInterval: configuration.ledgerVerifyInterval)
    }
}

extension Gateway {
    /// The web assets Kessai serves, as the SBOM lists them.
    public static var webAssets: [ComponentInventory.File] {
        ScriptInventory.entries.map { ComponentInventory.File(path: $0.path, sha384: $0.sha384) }
    }
}
