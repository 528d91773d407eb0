import ArgumentParser
import HTTP
import KessaiCore
import Ledger
import Response

struct IncidentResponseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Breach response: which cards a suspect reached, from the verified ledger.", subcommands: [Scope.self])

    struct Scope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Exposure scope for a window and a suspect (process, host, actor, merchant, source address, key version): cards read in clear with each read, security codes in reach, cards stored as ciphertext only, and with --database-copy the records holding personal data; per merchant."
        )
        @OptionGroup var options: GatewayOptions
        @Option(help: "Start (inclusive): ISO 8601 or Unix seconds.") var from: String
        @Option(help: "End (exclusive): ISO 8601 or Unix seconds.") var to: String
        @Option(help: "Only reads by this process (its --instance name).") var instance: String?
        @Option(help: "Only reads by processes on this host.") var host: String?
        @Option(help: "Only reads by this actor id (an API key, an operator).") var actor: String?
        @Option(help: "Only this merchant's cards.") var merchant: String?
        @Option(name: .customLong("source-address"), help: "Only reads requested from this address.") var sourceAddress: String?
        @Option(name: .customLong("key-version"), help: "Only cards under this key-encryption key version.") var keyVersion: String?
        @Flag(name: .customLong("database-copy"), help: "Hypothesis: the database files were taken (lists every record with personal data).")
        var databaseCopy = false
        @Flag(help: "One JSON object.") var json = false
        @Flag(help: "CSV, one row per read in clear.") var csv = false

        func run() async throws {
            guard let start = LedgerCommand.Query.time(from), let end = LedgerCommand.Query.time(to), start < end else {
                throw ValidationError("--from and --to must be ISO 8601 times or Unix seconds, --from before --to")
            }
            guard !(json && csv) else { throw ValidationError("choose --json or --csv") }
            for value in [instance, host, actor, merchant, sourceAddress, keyVersion].compactMap({ $0 }) where value.utf8.count > 128 {
                throw ValidationError("filters are at most 128 bytes")
            }
            var query = ExposureScope.Query(from: start, to: end)
            query.instance = instance
            query.host = host
            query.actor = actor
            query.merchant = merchant
            query.sourceAddress = sourceAddress
            query.keyVersion = keyVersion
            query.databaseCopy = databaseCopy
            let result = try await options.withGateway { gateway in
                let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
                return try await ExposureScope(database: gateway.database, ledger: gateway.ledger, verifier: verifier).compute(query)
            }
            if json {
                say(ScopeReport.json(result).serialized())
            } else if csv {
                print(ScopeReport.csv(result), terminator: "")
            } else {
                say(
                    result.exact
                        ? "ledger verified (checkpoint size \(result.checkpoint?.size ?? 0)): the answer is exact" : "NOT EXACT: the ledger did not verify")
                for scope in result.merchants {
                    let reads = scope.readInClear.values.reduce(0) { $0 + $1.count }
                    say(
                        "\(scope.merchant): \(scope.readInClear.count) cards read in clear (\(reads) reads), \(scope.securityCodesInReach.count) security codes in reach, \(scope.ciphertextOnly) ciphertext only\(databaseCopy ? ", \(scope.personalData.count) records with personal data" : "")"
                    )
                }
            }
            if !result.exact { throw ExitCode(2) }
        }
    }
}
