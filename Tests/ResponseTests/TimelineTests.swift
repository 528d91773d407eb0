import Foundation
import KessaiTestSupport
import Testing

@testable import Ledger
@testable import Response

@Suite("The incident's timeline: first suspicious event, detection, each step, the watch list and exports, in time order")
struct TimelineTests {
    @Test("built from the ledger's entries of those actions only", arguments: [TestBackend.sqlite])
    func timeline(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let ledger = test.gateway.ledger
            let t0: Int64 = 1_800_000_000
            func at(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(t0 + seconds)) }
            try await ledger.record(
                LedgerEntry(time: at(0), actor: .system("http"), action: "security.probe_detected", objects: ["pattern": "sql"], source: "203.0.113.9"))
            try await ledger.record(
                LedgerEntry(
                    time: at(600), actor: LedgerActor(.operator, "usr_a"), action: "incident.acknowledged", objects: ["incident": "inc_1", "note": "looking"]))
            try await ledger.record(
                LedgerEntry(
                    time: at(700), actor: LedgerActor(.operator, "usr_a"), action: "incident.acknowledged", objects: ["incident": "inc_2", "note": "other"]))
            try await ledger.record(
                LedgerEntry(
                    time: at(900), actor: LedgerActor(.operator, "usr_b"), action: "incident.contained",
                    objects: ["incident": "inc_1", "note": "web-3 stopped"]))
            try await ledger.record(LedgerEntry(time: at(1200), actor: LedgerActor(.operator, "usr_b"), action: "cards.watched", objects: ["cards": "7"]))
            try await ledger.record(
                LedgerEntry(time: at(1500), actor: LedgerActor(.operator, "usr_c"), action: "cards.exported", objects: ["approval": "apr_9", "cards": "7"]))
            try await ledger.sequenceAll()
            let incident = Timeline.IncidentFacts(id: "inc_1", kind: "injection", summary: "sqlmap from 203.0.113.9", openedAt: t0 + 60, firstSeq: 0)
            let scope = ExposureScope.Result(
                query: ExposureScope.Query(from: (t0 - 3600) * 1000, to: t0 * 1000),
                verification: LedgerReport(size: 0, root: Data(), checkpointsChecked: 0, findings: []), checkpoint: nil, merchants: [])
            let text = try await Timeline.markdown(ledger: ledger, incident: incident, scope: scope)
            let lines = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("- ") }
            #expect(lines.count == 6, "\(lines)")
            let expected = [
                "first suspicious event: security.probe_detected from 203.0.113.9", "detected: inc_1 injection", "incident.acknowledged by usr_a: looking",
                "incident.contained by usr_b: web-3 stopped", "7 cards put on the watch list", "card brands' file exported under apr_9 (7 cards)",
            ]
            for (line, words) in zip(lines, expected) { #expect(line.contains(words), "\(line)") }
            #expect(!text.contains("inc_2") && !text.contains("other"))
        }
    }
}
