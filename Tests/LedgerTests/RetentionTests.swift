import Foundation
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Testing

@Suite("Ledger retention: closed segments exported, verifiable alone, pruned only after 90 days")
struct RetentionTests {
    @Test("export and prune an old segment; the online log and the files still verify; a changed file does not", arguments: TestBackend.available)
    func exportAndPrune(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let ledger = test.gateway.ledger
            let signer = test.gateway.keySource
            let publicKey = try signer.checkpointPublicKey()
            _ = try await populate(test, tokenizations: 4)
            let first = try #require(try await ledger.checkpoint(signer: signer))
            test.clock.advance(by: 30 * 86_400)
            _ = try await populate(test, tokenizations: 3)
            let second = try #require(try await ledger.checkpoint(signer: signer))
            test.clock.advance(by: 100 * 86_400)
            _ = try await populate(test, tokenizations: 2)
            _ = try #require(try await ledger.checkpoint(signer: signer))
            let retention = LedgerRetention(ledger: ledger)
            let directory = test.directory + "/archive"

            // Pruning what is younger than 90 days is refused.
            await #expect(throws: LedgerError.self) {
                _ = try await retention.export(before: test.clock.now(), to: directory, prune: true, now: test.clock.now(), actor: .system("test"))
            }
            // Entries older than 100 days: the first two checkpoints' ranges, exported as two chained segments.
            let cutoff = test.clock.now().addingTimeInterval(-95 * 86_400)
            let older = cutoff.addingTimeInterval(-20 * 86_400)
            let a = try #require(try await retention.export(before: older, to: directory, prune: true, now: test.clock.now(), actor: .system("test")))
            #expect(a.start == 0 && a.end == first.size)
            let b = try #require(try await retention.export(before: cutoff, to: directory, prune: true, now: test.clock.now(), actor: .system("test")))
            #expect(b.start == first.size && b.end == second.size)
            #expect(try await retention.export(before: cutoff, to: directory, prune: true, now: test.clock.now(), actor: .system("test")) == nil)

            // Online: only what is younger, and it still verifies from the kept state.
            let oldest = try await test.gateway.database.withConnection { db in
                try await db.select().column("seq").from("ledger_entries").orderBy("seq").first()?.decode(column: "seq", as: Int.self)
            }
            #expect(oldest == second.size)
            let report = try await LedgerVerifier(database: test.gateway.database, publicKey: publicKey).verify()
            #expect(report.isClean, "\(report.findings)")
            // Offline: both files, alone and chained.
            #expect(LedgerRetention.verify(files: [a.file, b.file], publicKey: publicKey).isEmpty)
            #expect(LedgerRetention.verify(files: [b.file], publicKey: publicKey).isEmpty)
            #expect(!LedgerRetention.verify(files: [b.file, a.file], publicKey: publicKey).isEmpty, "out of order")
            // One changed byte in an exported entry is found, with its position.
            var text = try String(contentsOfFile: a.file, encoding: .utf8)
            let target = "\\\"outcome\\\":\\\"success\\\""
            let range = try #require(text.range(of: target))
            text.replaceSubrange(range, with: "\\\"outcome\\\":\\\"failure\\\"")
            try text.write(toFile: a.file, atomically: true, encoding: .utf8)
            let findings = LedgerRetention.verify(files: [a.file, b.file], publicKey: publicKey)
            #expect(findings.contains { $0.kind == .alteredEntry && $0.position == 0 }, "\(findings)")
            // The exports themselves are in the ledger.
            let exports = try await ledger.query(LedgerQuery(from: 0, to: .max, action: "ledger.export"))
            #expect(exports.count == 2)
        }
    }
}
