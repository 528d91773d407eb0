import ArgumentParser
import Foundation
import HTTP
import KessaiCore
import Ledger
import Response
import SQLKit

#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    /// The exposure scope over a large ledger: builds `--reads` card reads (spread over
    /// merchants, cards and processes), then times the scope for one process over the whole
    /// window — verification up to the checkpoint included — and prints the peak memory.
    struct ScopeBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scope",
            abstract:
                "Exposure scope over a ledger of --reads card reads: build time, then the scope's time (verification included) and peak memory. Run on an empty data directory or database."
        )
        @OptionGroup var options: GatewayOptions
        @Option(help: "Card reads (vault.decrypt entries) to build.") var reads = 10_000_000
        @Option(help: "Distinct cards.") var cards = 1_000_000
        @Option(help: "Merchants.") var merchants = 50
        @Option(help: "Gateway processes the reads are spread over; the scope asks for one of them.") var instances = 8
        @Flag(help: "Only time the scope over a ledger built before (same options).") var reuse = false

        func run() async throws {
            guard (1...50_000_000).contains(reads), (1...reads).contains(cards), (1...10_000).contains(merchants), (1...1_000).contains(instances) else {
                throw ValidationError("reads 1…50,000,000; cards 1…reads; merchants 1…10,000; instances 1…1,000")
            }
            try await options.withGateway { gateway in
                let ledger = gateway.ledger
                let database = gateway.database
                let start: Int64 = 1_800_000_000_000
                if !reuse {
                    guard try await ledger.head().size < 1_000 else { throw ValidationError("the ledger is not empty: use a new data directory or database") }
                    let began = ContinuousClock.now
                    // Bodies written straight into the pending table, sequenced by the ledger's
                    // own sequencer (leaf hashes, the Merkle frontier, the chain) as a server would.
                    var written = 0
                    while written < reads {
                        let count = min(20_000, reads - written)
                        let first = written
                        try await database.transaction { db in
                            for chunk in stride(from: 0, to: count, by: 1_000) {
                                var insert = db.insert(into: "ledger_pending").columns("body")
                                for index in (first + chunk)..<(first + min(chunk + 1_000, count)) {
                                    insert = insert.values(
                                        SQLBind(Self.entry(index, start: start, cards: cards, merchants: merchants, instances: instances).canonical))
                                }
                                try await insert.run()
                            }
                        }
                        written += count
                        while try await ledger.sequence(limit: 20_000) > 0 {}
                        if written % 1_000_000 == 0 { say("built \(written) reads") }
                    }
                    _ = try await ledger.checkpoint(signer: gateway.keySource)
                    say(String(format: "build: %d reads in %.1f s (recorded and sequenced)", reads, LedgerBench.seconds(ContinuousClock.now - began)))
                }
                var query = ExposureScope.Query(from: start, to: start + Int64(reads) * 10 + 1)
                query.instance = "web-\(1 % instances):1"
                let verifier = LedgerVerifier(database: database, publicKey: try gateway.keySource.checkpointPublicKey())
                let began = ContinuousClock.now
                let result = try await ExposureScope(database: database, ledger: ledger, verifier: verifier).compute(query)
                let seconds = LedgerBench.seconds(ContinuousClock.now - began)
                let found = result.merchants.reduce(0) { $0 + $1.readInClear.values.reduce(0) { $0 + $1.count } }
                let expected = (0..<reads).count { $0 % instances == 1 % instances }
                say(
                    String(
                        format: "scope: %d reads in the ledger, %d read by the one process found (%@), %.1f s, %@, peak memory %.0f MiB", reads, found,
                        found == expected ? "exact" : "EXPECTED \(expected)", seconds, result.exact ? "verified" : "NOT VERIFIED", Self.peakMiB()))
            }
        }

        /// The `index`-th read: every 10 ms, a merchant, a card and a process chosen round-robin.
        static func entry(_ index: Int, start: Int64, cards: Int, merchants: Int, instances: Int) -> LedgerEntry {
            var entry = LedgerEntry(
                time: Date(timeIntervalSince1970: TimeInterval(start + Int64(index) * 10) / 1000),
                actor: LedgerActor(.merchantKey, "key_\(index % merchants)"), action: "vault.decrypt",
                objects: [
                    "token": "pm_bench\(index % cards)", "merchant": "acct_bench\(index % merchants)", "payment_intent": "pi_bench\(index)",
                    "key_version": "1",
                ],
                purpose: "authorization", source: "10.0.\(index % 200).1")
            entry.instance = "web-\(index % instances):1"
            return entry
        }

        static func peakMiB() -> Double {
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            return Double(usage.ru_maxrss) / 1024
        }
    }
}
