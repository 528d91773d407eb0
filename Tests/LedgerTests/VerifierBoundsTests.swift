import Foundation
import KessaiCore
import KessaiTestSupport
import SQLKit
import Testing

@testable import Ledger

@Suite("Verifier bounds: forged sizes, long lists of findings, repeated checkpoint mismatches")
struct VerifierBoundsTests {
    @Test(
        "a ledger_state forged to a size far past the entries is a state mismatch, found at once (no read of every empty range)",
        arguments: TestBackend.available)
    func forgedSize(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            _ = try await populate(test)
            // 2^50 entries: a compact range of that size is one hash.
            try await test.sql { db in
                try await db.update("ledger_state").set("size", to: Int64(1) << 50).set("frontier", to: SQLBind(Data(repeating: 9, count: 32))).run()
            }
            let started = ContinuousClock.now
            let report = try await test.verifier.verify()
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(report.findings.contains { $0.kind == .stateMismatch }, "\(report.findings)")
        }
    }

    @Test(
        "past the listed findings every finding is still counted and placed, so new tampering changes what the report names; later checkpoints over one edit are one finding",
        arguments: TestBackend.available)
    func beyondTheList(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            _ = try await populate(test)
            _ = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
            try await test.sql { db in
                for seq in [3, 5, 9] {
                    try await db.update("ledger_entries").set(
                        "body",
                        to: SQLFunction(
                            "replace", args: SQLColumn("body"), SQLLiteral.string("\"outcome\":\"success\""), SQLLiteral.string("\"outcome\":\"failure\""))
                    ).where("seq", .equal, seq).run()
                }
            }
            // Three more checkpoints over the edited log: each mismatches since the same good one.
            for _ in 0..<3 {
                _ = try await populate(test, tokenizations: 1)
                _ = try #require(try await test.gateway.ledger.checkpoint(signer: test.gateway.keySource))
            }
            var verifier = try test.verifier
            verifier.maximumFindings = 2
            let report = try await verifier.verify()
            #expect(report.findings.count == 2)
            #expect(report.findingCount > 2)
            #expect(Set([3, 5, 9]).isSubset(of: Set(report.places.filter { $0.kind == .alteredEntry }.map(\.position))), "\(report.places)")
            let full = try await test.verifier.verify()
            #expect(full.findings.filter { $0.kind == .checkpointMismatch }.count == 1, "\(full.findings)")
            #expect(full.findingCount == full.findings.count)
        }
    }
}
