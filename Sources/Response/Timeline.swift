import KessaiCore
public import Ledger

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An incident's timeline, from the ledger: the first card read in the scope's window, the first
/// suspicious event, detection, each person's step, containment, resolution, the watch list and
/// every export of the card brands' file. Each line reads only the entries of its actions (never
/// the whole ledger).
public enum Timeline {
    /// What the timeline needs of a sentinel incident (the Response target does not depend on
    /// the Sentinel's types).
    public struct IncidentFacts: Sendable {
        public let id: String
        public let kind: String
        public let summary: String
        /// Unix seconds.
        public let openedAt: Int64
        public let firstSeq: Int?

        public init(id: String, kind: String, summary: String, openedAt: Int64, firstSeq: Int?) {
            self.id = id
            self.kind = kind
            self.summary = summary
            self.openedAt = openedAt
            self.firstSeq = firstSeq
        }
    }

    static let steps = [
        "incident.acknowledged", "incident.contained", "incident.resolution_requested", "incident.resolved", "incident.realerted",
    ]

    /// The timeline as Markdown, times in JST.
    public static func markdown(ledger: Ledger, incident: IncidentFacts?, scope: ExposureScope.Result) async throws -> String {
        var lines: [(Int64, String)] = []
        let firstRead = scope.merchants.flatMap { $0.readInClear.values.flatMap { $0 } }.min { $0.seq < $1.seq }
        if let firstRead { lines.append((firstRead.time, "first card read in the scope's window (ledger #\(firstRead.seq), \(firstRead.instance ?? "-"))")) }
        if let incident {
            if let seq = incident.firstSeq, let first = try await ledger.entry(at: seq) {
                lines.append((first.time, "first suspicious event: \(first.action) from \(first.source ?? "-") (ledger #\(seq))"))
            }
            lines.append((incident.openedAt * 1000, "detected: \(incident.id) \(incident.kind) — \(incident.summary)"))
            for action in steps {
                for row in try await ledger.query(LedgerQuery(from: incident.openedAt * 1000, to: .max, action: action))
                where row.entry.objects["incident"] == incident.id {
                    lines.append((row.entry.time, "\(action) by \(row.entry.actor.id): \(row.entry.objects["note"] ?? "")"))
                }
            }
        }
        let since = min(scope.query.from, (incident?.openedAt ?? Int64.max / 1000) * 1000)
        for row in try await ledger.query(LedgerQuery(from: since, to: .max, action: "cards.watched")) {
            lines.append((row.entry.time, "\(row.entry.objects["cards"] ?? "?") cards put on the watch list by \(row.entry.actor.id)"))
        }
        for row in try await ledger.query(LedgerQuery(from: since, to: .max, action: "cards.exported")) {
            lines.append(
                (row.entry.time, "card brands' file exported under \(row.entry.objects["approval"] ?? "-") (\(row.entry.objects["cards"] ?? "?") cards)"))
        }
        return (["# Timeline (JST)", ""] + lines.sorted { $0.0 < $1.0 }.map { "- \(jst($0.0)) \($0.1)" }).joined(separator: "\n") + "\n"
    }

    static func jst(_ millis: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(millis) / 1000 + 9 * 3600).ISO8601Format().replacingOccurrences(of: "Z", with: "")
    }
}
