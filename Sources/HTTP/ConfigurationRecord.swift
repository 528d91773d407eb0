import KessaiCore
import Ledger
import SQLKit

extension Gateway {
    /// The settings that matter for security, as ledger objects (no secrets, no paths to them).
    var securitySettings: [String: String] {
        [
            "mode": configuration.mode.rawValue,
            "database": database.kind.rawValue,
            "security_code_ttl": String(Int(configuration.securityCodeLifetime)),
            "maximum_body_bytes": String(configuration.maximumBodyBytes),
            "checkpoint_every": String(configuration.checkpointEvery),
            "checkpoint_interval": String(Int(configuration.checkpointInterval)),
            "checkpoint_copy": configuration.checkpointCopyFile == nil ? "off" : "on",
            "key_versions": ((try? keySource.versions()) ?? []).map(String.init).joined(separator: ","),
            "checkpoint_key": (try? Checkpoint.keyID(of: keySource.checkpointPublicKey())) ?? "none",
        ]
    }

    /// Records the settings a server starts with: `config.loaded` when they are what the last
    /// start recorded, `config.changed` when they differ (a changed TTL, another checkpoint key …).
    public func recordStartConfiguration() async throws {
        let settings = securitySettings
        let last = try await database.withConnection { db -> String? in
            try await db.select().column("body").from("ledger_entries")
                .where("action", .in, ["config.loaded", "config.changed"]).orderBy("seq", .descending).first()?
                .decode(column: "body", as: String.self)
        }
        let previous = last.flatMap(LedgerEntry.init(canonical:))?.objects
        let action = previous == nil || previous == settings ? "config.loaded" : "config.changed"
        try await ledger.record(LedgerEntry(time: clock.now(), actor: .system("serve"), action: action, objects: settings))
        try await ledger.sequenceAll()
    }
}
