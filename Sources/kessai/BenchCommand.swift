import ArgumentParser
import Foundation
import HTTP
import KessaiCore
import Ledger

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print figures (never run by the tests).", subcommands: [LedgerBench.self, ScopeBench.self])

    struct LedgerBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract:
                "Ledger appends per second with several writers (each entry its own statement, as accesses record them; the sequencer batches), then verify rate."
        )
        @OptionGroup var options: GatewayOptions
        @Option(help: "Entries to append.") var entries = 200_000
        @Option(help: "Concurrent writers.") var writers = 8
        @Option(help: "Entries per writer transaction.") var batch = 100

        func run() async throws {
            guard (1...10_000_000).contains(entries), (1...256).contains(writers), (1...10_000).contains(batch) else {
                throw ValidationError("entries 1…10,000,000, writers 1…256, batch 1…10,000")
            }
            try await options.withGateway { gateway in
                let ledger = gateway.ledger
                let database = gateway.database
                let startSize = try await ledger.head().size
                let perWriter = entries / writers
                let started = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            var done = 0
                            while done < perWriter {
                                let count = min(batch, perWriter - done)
                                let first = done
                                try await database.transaction { db in
                                    for index in 0..<count {
                                        try await ledger.record(
                                            LedgerEntry(
                                                time: Date(), actor: LedgerActor(.merchantKey, "key_bench\(writer)"), action: "vault.decrypt",
                                                objects: ["token": "pm_bench\(writer)x\(first + index)", "merchant": "acct_bench"], purpose: "authorization",
                                                requestID: "req_bench", source: "127.0.0.1"),
                                            on: db)
                                    }
                                }
                                done += count
                            }
                        }
                    }
                    // The sequencer runs alongside the writers, as LedgerService does in a server.
                    group.addTask {
                        while try await ledger.head().size - startSize < perWriter * writers {
                            if try await ledger.sequence(limit: 10_000) == 0 { try await Task.sleep(for: .milliseconds(20)) }
                        }
                    }
                    try await group.waitForAll()
                }
                let appendSeconds = Self.seconds(ContinuousClock.now - started)
                let appended = perWriter * writers
                _ = try await ledger.checkpoint(signer: gateway.keySource)
                say(
                    String(
                        format: "ledger appends: %d entries, %d writers, %.2f s, %.0f entries/s (recorded and sequenced into the Merkle log)", appended,
                        writers, appendSeconds, Double(appended) / appendSeconds))
                // Three runs: the first also pays for cold caches (and PostgreSQL's hint bits on
                // freshly written rows).
                for run in 1...3 {
                    let verifyStarted = ContinuousClock.now
                    let report = try await LedgerVerifier(database: database, publicKey: gateway.keySource.checkpointPublicKey()).verify()
                    let verifySeconds = Self.seconds(ContinuousClock.now - verifyStarted)
                    say(
                        String(
                            format: "ledger verify:  run %d, %d entries, %.2f s, %.0f entries/s, %@", run, report.size, verifySeconds,
                            Double(report.size) / verifySeconds, report.isClean ? "clean" : "FINDINGS"))
                }
            }
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }
}
