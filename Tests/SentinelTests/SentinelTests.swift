import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Ledger
import SQLKit
import Testing
import Webhooks

@testable import Sentinel

@Suite("Sentinel: rules open one incident per attack, people close it with notes (two for high), files are compared with their baseline")
struct SentinelTests {
    @Test("attack signatures: SQL, script and traversal payloads are seen; ordinary values are not")
    func signatures() {
        let attacks: [(String, ProbeSignatures.Kind)] = [
            ("1' OR '1'='1", .sql), ("x\" AND 1=1 -- ", .sql), ("1 UNION ALL SELECT NULL,NULL--", .sql), ("1) AND SLEEP(5)", .sql),
            ("abc'; DROP TABLE merchants;--", .sql), ("1 AND 3580=3580", .sql), ("pi_1%27%20or%201%3D1--", .sql), ("1 ORDER BY 5", .sql),
            ("<script>alert(1)</script>", .script), ("../../../../etc/passwd", .traversal), ("..%2F..%2Fetc%2Fpasswd", .traversal),
        ]
        for (value, kind) in attacks { #expect(ProbeSignatures.match(value) == kind, "\(value)") }
        for ordinary in ["Tom's and Jerry's", "order #1234", "limit=10", "hanako@example.jp", "東京都渋谷区", "O'Reilly", "pi_3NdX9k2eZvKYlo2C"] {
            #expect(ProbeSignatures.match(ordinary) == nil, "\(ordinary)")
        }
    }

    static func probe(_ source: String, at time: Date) -> LedgerEntry {
        LedgerEntry(
            time: time, actor: LedgerActor(.anonymous, source), action: "security.probe_detected", objects: ["signature": "sql"], source: source,
            outcome: "refused")
    }

    @Test("a burst of probes from one address is one incident naming it; below the threshold none; a second address its own", arguments: TestBackend.available)
    func grouping(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let watcher = LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock)
            for _ in 0..<4 { try await gateway.ledger.record(Self.probe("203.0.113.7", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await watcher.tick()
            #expect(try await gateway.incidents.list().isEmpty, "4 probes are below the threshold of 5")
            for _ in 0..<300 { try await gateway.ledger.record(Self.probe("203.0.113.7", at: test.clock.now())) }
            try await gateway.ledger.record(
                LedgerEntry(
                    time: test.clock.now(), actor: .system("recorder"), action: "security.probe_detected.aggregate", objects: ["count": "5000"],
                    source: "203.0.113.7"))
            for _ in 0..<6 { try await gateway.ledger.record(Self.probe("198.51.100.2", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await watcher.tick()
            try await watcher.tick()
            let open = try await gateway.incidents.list()
            #expect(open.count == 2)
            let first = try #require(open.first { $0.source == "203.0.113.7" })
            #expect(first.kind == "injection_probing" && first.severity == .high && first.status == .open)
            #expect(first.summary.contains("203.0.113.7"))
            let probes = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max)).filter { $0.entry.action.hasPrefix("security.probe") }
            #expect(probes.count == 311)
            #expect(first.events == 5_304, "every probe is counted into the one incident: 4 + 300 + 5000")
            let opened = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max, action: "incident.opened"))
            #expect(opened.count == 2)
        }
    }

    static func decline(_ source: String, merchant: String, at time: Date) -> LedgerEntry {
        LedgerEntry(
            time: time, actor: LedgerActor(.merchantKey, "key_test"), action: "card.declined",
            objects: ["merchant": merchant, "payment_intent": "pi_x", "code": "incorrect_cvc", "decline_code": "incorrect_cvc"], source: source,
            outcome: "declined")
    }

    @Test(
        "card testing: 10 declines from one address is an incident naming it; 25 at one merchant from as many addresses is one naming the merchant; fewer are none",
        arguments: TestBackend.available)
    func cardTesting(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let watcher = LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock)
            for _ in 0..<9 { try await gateway.ledger.record(Self.decline("203.0.113.50", merchant: "acct_one", at: test.clock.now())) }
            for n in 0..<15 { try await gateway.ledger.record(Self.decline("198.51.100.\(n)", merchant: "acct_two", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await watcher.tick()
            #expect(try await gateway.incidents.list().isEmpty, "9 from one address, 24 at acct_one and 15 at acct_two: below every threshold")
            try await gateway.ledger.record(Self.decline("203.0.113.50", merchant: "acct_one", at: test.clock.now()))
            for n in 15..<25 { try await gateway.ledger.record(Self.decline("198.51.100.\(n)", merchant: "acct_two", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await watcher.tick()
            let opened = try await gateway.incidents.list()
            #expect(opened.count == 2 && opened.allSatisfy { $0.kind == "card_testing" })
            #expect(opened.contains { $0.summary.contains("203.0.113.50") && $0.summary.contains("declined") })
            #expect(opened.contains { $0.summary.contains("merchant acct_two") })
            #expect(!opened.contains { $0.summary.contains("acct_one") }, "10 declines at acct_one are the address's incident, not the shop's")
        }
    }

    @Test("lifecycle: a note is required, steps follow the order, a high incident needs a second person to resolve", arguments: TestBackend.available)
    func lifecycle(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let store = test.gateway.incidents
            guard
                case .opened(let incident) = try await store.report(
                    Finding(kind: "file_integrity", severity: .high, groupKey: "fim:/x", summary: "file added: /x"))
            else {
                Issue.record("not opened")
                return
            }
            await #expect(throws: IncidentStore.Refusal.noteRequired) { _ = try await store.acknowledge(incident.id, by: "aiko", note: "  ") }
            await #expect(throws: IncidentStore.Refusal.noteHasCardNumber) {
                _ = try await store.acknowledge(incident.id, by: "aiko", note: "card 4242 4242 4242 4242 seen")
            }
            await #expect(throws: IncidentStore.Refusal.notAllowed(from: .open, to: .resolved)) {
                _ = try await store.resolve(incident.id, by: "aiko", note: "done")
            }
            #expect(try await store.acknowledge(incident.id, by: "aiko", note: "looking").status == .acknowledged)
            let asked = try await store.resolve(incident.id, by: "aiko", note: "file was our deploy")
            #expect(asked.status == .acknowledged && asked.resolutionRequestedBy == "aiko")
            #expect(try await store.resolve(incident.id, by: "aiko", note: "again").status == .acknowledged, "the same person twice is not two")
            #expect(try await store.resolve(incident.id, by: "kenji", note: "confirmed with the deploy log").status == .resolved)
            let actions = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry.action).filter { $0.hasPrefix("incident.") }
            #expect(
                actions == ["incident.opened", "incident.acknowledged", "incident.resolution_requested", "incident.resolution_requested", "incident.resolved"])
            // A new finding with the same key after resolution opens a new incident.
            guard case .opened = try await store.report(Finding(kind: "file_integrity", severity: .high, groupKey: "fim:/x", summary: "again")) else {
                Issue.record("a resolved incident absorbed a new finding")
                return
            }
        }
    }

    @Test("files: an added, a changed and a removed file are each a finding; an untouched tree is none", arguments: [TestBackend.sqlite])
    func files(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let root = test.directory + "/watched"
            try FileManager.default.createDirectory(atPath: root + "/web/js/v1", withIntermediateDirectories: true)
            try Data("kessai".utf8).write(to: URL(fileURLWithPath: root + "/web/js/v1/kessai.js"))
            try Data("binary".utf8).write(to: URL(fileURLWithPath: root + "/kessai"))
            try Data("old".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
            let files = FileIntegrity(shallow: [root], deep: [root + "/web"], database: test.gateway.database, ledger: test.gateway.ledger, clock: test.clock)
            #expect(try await files.changes() == nil, "no baseline yet")
            #expect(try await files.baseline(actor: .system("test")) == 3)
            #expect(try await files.changes() == [])
            try Data("kessaj".utf8).write(to: URL(fileURLWithPath: root + "/web/js/v1/kessai.js"))
            try Data("#!/bin/sh".utf8).write(to: URL(fileURLWithPath: root + "/backdoor.php"))
            try FileManager.default.removeItem(atPath: root + "/notes.txt")
            let changes = try #require(try await files.changes())
            #expect(
                Set(changes.map { "\($0.kind.rawValue) \(URL(fileURLWithPath: $0.path).lastPathComponent)" }) == [
                    "changed kessai.js", "added backdoor.php", "removed notes.txt",
                ])
            #expect(FileIntegrity.findings(changes).allSatisfy { $0.severity == .high && $0.summary.contains("/") })
        }
    }

    @Test(
        "files: inotify makes the next round check them — a planted file is found long before the hour-long schedule, and in a folder made after the watch began",
        arguments: [TestBackend.sqlite])
    func filesNotified(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let root = test.directory + "/watched"
            try FileManager.default.createDirectory(atPath: root + "/web/js", withIntermediateDirectories: true)
            try Data("kessai".utf8).write(to: URL(fileURLWithPath: root + "/web/js/kessai.js"))
            let files = FileIntegrity(shallow: [root], deep: [root + "/web"], database: gateway.database, ledger: gateway.ledger, clock: test.clock)
            try await files.baseline(actor: .system("test"))
            let alerter = Alerter(database: gateway.database, clock: test.clock, logger: test.logs.logger(), webhook: nil, sender: nil)
            func service(_ signal: any FileChangeSignal) -> SentinelService {
                SentinelService(
                    watcher: LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock), files: files, fileSignal: signal,
                    incidents: gateway.incidents, alerter: alerter, logger: test.logs.logger(), fileInterval: 3600)
            }
            let notified = service(files.changeSignal())
            let scheduled = service(ScheduleOnly())
            try await notified.pass(round: 1)
            #expect(try await gateway.incidents.list().isEmpty, "nothing changed")

            try FileManager.default.createDirectory(atPath: root + "/web/js/new", withIntermediateDirectories: true)
            try Data("<?php eval($_POST['x']);".utf8).write(to: URL(fileURLWithPath: root + "/backdoor.php"))
            try await scheduled.pass(round: 1)
            #expect(try await gateway.incidents.list().isEmpty, "the schedule alone would wait for round 1800")
            try await notified.pass(round: 1)
            #expect(try await gateway.incidents.list().map(\.summary).contains { $0.hasSuffix("/backdoor.php") })

            try Data("skim()".utf8).write(to: URL(fileURLWithPath: root + "/web/js/new/skim.js"))
            try await notified.pass(round: 1)
            #expect(try await gateway.incidents.list().map(\.summary).contains { $0.hasSuffix("/web/js/new/skim.js") })
            let before = try await gateway.incidents.list().map(\.events).reduce(0, +)
            try await notified.pass(round: 1)
            #expect(try await gateway.incidents.list().map(\.events).reduce(0, +) == before, "no notification, no check")
        }
    }

    @Test(
        "an unacknowledged incident is re-alerted on schedule until someone acknowledges it; alerts are signed, in the outbox and the log",
        arguments: TestBackend.available)
    func reminders(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let sender = RecordingWebhookSender()
            let alerter = Alerter(
                database: gateway.database, clock: test.clock, logger: test.logs.logger(),
                webhook: .init(url: "https://ops.example/hooks/kessai", secret: "whsec_ops_secret_for_tests"), sender: sender)
            let service = SentinelService(
                watcher: LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock), files: nil, incidents: gateway.incidents,
                alerter: alerter, logger: test.logs.logger(), reminderInterval: 900)
            for _ in 0..<5 { try await gateway.ledger.record(Self.probe("192.0.2.44", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await service.pass(round: 1)
            #expect(sender.sent.count == 1)
            let alert = try #require(sender.sent.first)
            let stamp = Int64(test.clock.now().timeIntervalSince1970)
            #expect(alert.signature == WebhookSignature.header(body: alert.body, secret: "whsec_ops_secret_for_tests", timestamp: stamp))
            #expect(alert.body.contains("\"type\":\"incident.opened\"") && alert.body.contains("192.0.2.44"))
            test.clock.advance(by: 600)
            try await service.pass(round: 30)
            #expect(sender.sent.count == 1, "not yet due")
            test.clock.advance(by: 301)
            try await service.pass(round: 60)
            #expect(sender.sent.count == 2 && sender.sent[1].body.contains("incident.reminder"))
            let incident = try #require(try await gateway.incidents.list().first)
            _ = try await gateway.incidents.acknowledge(incident.id, by: "mei", note: "on it")
            test.clock.advance(by: 3600)
            try await service.pass(round: 90)
            #expect(sender.sent.count == 2, "acknowledged: no more reminders")
            #expect(try await test.count("alert_outbox") == 2)
            let lines = test.logs.all.filter { $0.contains("SENTINEL") }
            #expect(lines.contains { $0.contains("SENTINEL OPENED high") } && lines.contains { $0.contains("SENTINEL REMINDER high") })
            let steps = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry.action).filter { $0.hasPrefix("incident.") }
            #expect(steps == ["incident.opened", "incident.realerted", "incident.acknowledged"])
        }
    }

    @Test("two watchers on one database (two processes) count every event once and open one incident", arguments: TestBackend.available)
    func twoProcesses(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let first = LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock, batch: 7)
            let second = LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock, batch: 7)
            for _ in 0..<60 { try await gateway.ledger.record(Self.probe("192.0.2.9", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            for _ in 0..<12 {
                async let a = first.tick()
                async let b = second.tick()
                _ = try await (a, b)
            }
            let open = try await gateway.incidents.list()
            #expect(open.count == 1)
            #expect(open.first?.events == 60, "each of the 60 probes counted exactly once")
        }
    }
}

extension SentinelTests {
    static func decrypt(_ actor: String, instance: String, at time: Date) -> LedgerEntry {
        var entry = LedgerEntry(
            time: time, actor: LedgerActor(.merchantKey, actor), action: "vault.decrypt", objects: ["token": "pm_x", "merchant": "acct_x"],
            purpose: "authorization")
        entry.instance = instance
        return entry
    }

    @Test(
        "card reads far above the actor's own last window open an incident naming the actor, the process and the host; its usual volume does not",
        arguments: TestBackend.available)
    func bulkReads(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let watcher = LedgerWatcher(database: gateway.database, incidents: gateway.incidents, clock: test.clock)
            // A busy key: 300 reads a window, for two windows, on web-1. Its own baseline, no incident.
            for _ in 0..<2 {
                for _ in 0..<300 { try await gateway.ledger.record(Self.decrypt("key_busy", instance: "web-1.example:4242", at: test.clock.now())) }
                try await gateway.ledger.sequenceAll()
                try await watcher.tick()
                test.clock.advance(by: 601)
            }
            #expect(try await gateway.incidents.list().isEmpty, "300 reads after 300 is the key's normal volume")
            // Then 3,500 in one window: over 10× its previous window.
            for _ in 0..<3_500 { try await gateway.ledger.record(Self.decrypt("key_busy", instance: "web-1.example:4242", at: test.clock.now())) }
            try await gateway.ledger.sequenceAll()
            try await watcher.tick()
            try await watcher.tick()
            let open = try await gateway.incidents.list()
            #expect(open.count == 1)
            let incident = try #require(open.first)
            #expect(incident.kind == "bulk_card_reads" && incident.severity == .high)
            #expect(incident.summary.contains("merchant_key:key_busy") && incident.summary.contains("web-1.example:4242"))
        }
    }

    @Test("every entry names its process; entries without one (written before) still verify")
    func instanceInCanonicalForm() {
        var entry = LedgerEntry(time: Date(timeIntervalSince1970: 1), actor: .system("t"), action: "a")
        let old = entry.canonical
        #expect(!old.contains("instance") && LedgerEntry(canonical: old) == entry)
        entry.instance = "host-a:77"
        #expect(entry.canonical.contains("\"instance\":\"host-a:77\"") && LedgerEntry(canonical: entry.canonical) == entry)
    }
}
