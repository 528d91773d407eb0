import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import SQLKit
import Testing
import Webhooks

@testable import Ledger
@testable import Sentinel

@Suite("Sentinel: the whole ledger is verified on a schedule, one process at a time; a failure is one high incident that people close")
struct LedgerVerificationTests {
    @Test(
        "scheduled verification: due at once, claimed by one process, kept with its figures and in the ledger; tampering opens one high incident, alerted, grouped on the next run, not reopened once resolved, and new tampering opens another",
        arguments: TestBackend.available)
    func scheduled(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let sender = RecordingWebhookSender()
            let alerter = Alerter(
                database: gateway.database, clock: test.clock, logger: test.logs.logger(),
                webhook: .init(url: "https://ops.example/hooks/kessai", secret: "whsec_ops_secret_for_tests"), sender: sender)
            func process() throws -> SentinelService {
                SentinelService(
                    watcher: LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock), files: nil,
                    incidents: gateway.incidents, alerter: alerter, logger: test.logs.logger(), ledgerCheck: try gateway.ledgerCheck(), verifyInterval: 3600)
            }
            let (first, second) = (try process(), try process())
            let verifications = LedgerVerifications(database: gateway.database, ledger: gateway.ledger, clock: test.clock)
            for index in 0..<6 {
                try await gateway.ledger.record(
                    LedgerEntry(time: test.clock.now(), actor: .system("test"), action: "test.event", objects: ["n": String(index)]))
            }
            try await gateway.ledger.sequenceAll()
            #expect(try await verifications.latest() == nil, "never verified")

            // Due at once (never verified); the other process finds it claimed.
            let clean = try #require(try await first.verifyIfDue())
            #expect(try await second.verifyIfDue() == nil)
            #expect(clean.report.isClean && clean.incident == nil)
            let head = try await gateway.ledger.head()
            #expect(clean.verification.size == head.size && clean.verification.root == Hex.encode(head.root))
            #expect(try await verifications.latest() == clean.verification)
            #expect(clean.verification.isClean && clean.verification.startedBy == "schedule" && clean.verification.firstFinding == nil)
            try await gateway.ledger.sequenceAll()
            let entries = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max, action: "ledger.verified")).map(\.entry)
            #expect(entries.count == 1 && entries.first?.objects["verification"] == clean.verification.id && entries.first?.outcome == "success")

            // Not again within the hour, by either process.
            test.clock.advance(by: 3599)
            #expect(try await first.verifyIfDue() == nil)
            #expect(try await second.verifyIfDue() == nil)
            test.clock.advance(by: 1)
            #expect(try await second.verifyIfDue()?.report.isClean == true)
            #expect(try await verifications.recent().count == 2)

            // An insider edits entry 2.
            try await gateway.database.withConnection { db in
                try await db.update("ledger_entries").set(
                    "body", to: SQLFunction("replace", args: SQLColumn("body"), SQLLiteral.string("\"n\":\"2\""), SQLLiteral.string("\"n\":\"7\""))
                ).where("seq", .equal, 2).run()
            }
            test.clock.advance(by: 3600)
            let failed = try #require(try await first.verifyIfDue())
            #expect(!failed.report.isClean && !failed.verification.isClean)
            #expect(failed.verification.firstFinding?.hasPrefix("altered_entry at position 2") == true, "\(failed.verification.firstFinding ?? "")")
            guard case .opened(let incident) = failed.incident else {
                Issue.record("no incident opened: \(String(describing: failed.incident))")
                return
            }
            #expect(incident.kind == "ledger_tampered" && incident.severity == .high && incident.firstSeq == 2)
            #expect(sender.sent.count == 1 && sender.sent[0].body.contains("ledger_tampered"), "the operations webhook hears of it")
            #expect(try await verifications.latest()?.isClean == false, "the console shows the failure")
            try await gateway.ledger.sequenceAll()
            #expect(try await gateway.ledger.query(LedgerQuery(from: 0, to: .max, action: "ledger.verified")).last?.entry.outcome == "failure")

            // The next run finds the same tampering: the same incident, one more event.
            test.clock.advance(by: 3600)
            guard case .grouped(let grouped) = try #require(try await second.verifyIfDue()).incident else {
                Issue.record("the same tampering opened a second incident")
                return
            }
            #expect(grouped.id == incident.id && grouped.events == 2)

            // People look and resolve it (two, as it is high): the same findings stay failed on
            // the page, but do not reopen an incident every hour.
            _ = try await gateway.incidents.acknowledge(incident.id, by: "aiko", note: "restored from the off-host export; entry 2 was edited")
            _ = try await gateway.incidents.resolve(incident.id, by: "aiko", note: "reported")
            #expect(try await gateway.incidents.resolve(incident.id, by: "kenji", note: "confirmed").status == .resolved)
            test.clock.advance(by: 3600)
            let known = try #require(try await first.verifyIfDue())
            #expect(!known.verification.isClean && known.incident == nil)
            #expect(try await gateway.incidents.list().isEmpty)

            // New tampering elsewhere is a new incident.
            try await gateway.database.withConnection { db in
                try await db.update("ledger_entries").set(
                    "body", to: SQLFunction("replace", args: SQLColumn("body"), SQLLiteral.string("\"n\":\"4\""), SQLLiteral.string("\"n\":\"9\""))
                ).where("seq", .equal, 4).run()
            }
            test.clock.advance(by: 3600)
            guard case .opened(let again) = try #require(try await first.verifyIfDue()).incident else {
                Issue.record("new tampering did not open an incident")
                return
            }
            #expect(again.id != incident.id && again.kind == "ledger_tampered")
        }
    }

    @Test(
        "a background verification while entries are appended and sequenced (a busy gateway) finds nothing: a range read half-filled, and the entries sequenced after the last range, are read",
        arguments: TestBackend.available)
    func busyLedger(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let check = try gateway.ledgerCheck()
            for index in 0..<3_000 {
                try await gateway.ledger.record(
                    LedgerEntry(time: test.clock.now(), actor: .system("test"), action: "test.event", objects: ["n": String(index)]))
            }
            try await gateway.ledger.sequenceAll()
            // Writers and the sequencer keep going while verifications run back to back.
            let writing = Task {
                var index = 0
                while !Task.isCancelled {
                    for _ in 0..<20 {
                        try await gateway.ledger.record(
                            LedgerEntry(time: test.clock.now(), actor: .system("test"), action: "test.busy", objects: ["n": String(index)]))
                        index += 1
                    }
                    _ = try await gateway.ledger.sequence(limit: 20)
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            var findings: [String] = []
            for _ in 0..<3 {
                let outcome = try await check.run(startedBy: "test", actor: .system("test"))
                findings += outcome.report.findings.map(\.description)
            }
            writing.cancel()
            _ = try? await writing.value
            #expect(findings.isEmpty, "\(findings.prefix(3))")
            #expect(try await gateway.incidents.list().isEmpty)
        }
    }

    @Test(
        "every run checks the off-host checkpoint copy (a truncation with the stored checkpoints deleted is found), and a state that cannot be read is an incident too",
        arguments: TestBackend.available)
    func offHostAndUnreadable(backend: TestBackend) async throws {
        let copy = FileManager.default.temporaryDirectory.path + "/kessai-copy-" + Base62.random(count: 8) + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try await TestGateway.with(backend, configure: { $0.checkpointCopyFile = copy }) { test in
            let gateway = test.gateway
            for index in 0..<12 {
                try await gateway.ledger.record(
                    LedgerEntry(time: test.clock.now(), actor: .system("test"), action: "test.event", objects: ["n": String(index)]))
            }
            try await gateway.ledger.sequenceAll()
            _ = try #require(try await gateway.ledger.checkpoint(signer: gateway.keySource, copyTo: copy))
            try await gateway.database.withConnection { db in
                try await db.delete(from: "ledger_entries").where("seq", .greaterThanOrEqual, 6).run()
                try await db.delete(from: "ledger_checkpoints").run()
            }
            let withCopy = try await gateway.ledgerCheck().run(startedBy: "test", actor: .system("test"))
            #expect(withCopy.report.findings.contains { $0.kind == .truncated && $0.position == 6 }, "\(withCopy.report.findings)")
            let withoutCopy = try await LedgerCheck(
                database: gateway.database, ledger: gateway.ledger, publicKey: try gateway.keySource.checkpointPublicKey(), incidents: gateway.incidents,
                clock: test.clock
            ).run(startedBy: "test", actor: .system("test"))
            #expect(!withoutCopy.report.findings.contains { $0.kind == .truncated }, "only the copy still has the checkpoint")

            // A state whose frontier is not a tree of its size: nothing can be verified; an incident.
            test.clock.advance(by: 60)
            try await gateway.database.withConnection { db in
                try await db.update("ledger_state").set("frontier", to: SQLBind(Data([1, 2, 3, 4, 5]))).run()
            }
            await #expect(throws: (any Error).self) { _ = try await gateway.ledgerCheck().run(startedBy: "test", actor: .system("test")) }
            #expect(try await gateway.incidents.list().contains { $0.groupKey == "ledger_tampered:unreadable" && $0.severity == .high })
            let shown = try await LedgerVerifications(database: gateway.database, ledger: gateway.ledger, clock: test.clock).latest()
            #expect(shown?.isClean == false && shown?.firstFinding?.hasPrefix("unreadable:") == true, "the console shows the failure, not the last clean run")
        }
    }

    @Test(
        "the incident's key is the findings' kinds and positions; a truncation or a state mismatch by kind only (their positions move as the ledger grows)"
    )
    func groupKey() {
        func finding(_ kind: LedgerFinding.Kind, _ position: Int) -> LedgerFinding {
            LedgerFinding(kind: kind, position: position, detail: "detail \(position)")
        }
        let edited = LedgerCheck.groupKey([finding(.alteredEntry, 2)])
        #expect(edited.hasPrefix("ledger_tampered:"))
        #expect(edited == LedgerCheck.groupKey([LedgerFinding(kind: .alteredEntry, position: 2, detail: "other words")]))
        #expect(edited != LedgerCheck.groupKey([finding(.alteredEntry, 3)]))
        #expect(edited != LedgerCheck.groupKey([finding(.alteredEntry, 2), finding(.alteredEntry, 4)]))
        #expect(edited == LedgerCheck.groupKey([finding(.alteredEntry, 2), finding(.alteredEntry, 2)]), "a leaf and a chain link at one entry")
        #expect(LedgerCheck.groupKey([finding(.truncated, 6)]) == LedgerCheck.groupKey([finding(.truncated, 9)]))
        #expect(LedgerCheck.groupKey([finding(.stateMismatch, 6)]) == LedgerCheck.groupKey([finding(.stateMismatch, 60)]))
        #expect(LedgerCheck.groupKey([finding(.truncated, 6)]) != LedgerCheck.groupKey([finding(.stateMismatch, 6)]))
    }
}
