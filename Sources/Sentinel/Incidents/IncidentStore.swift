public import KessaiCore
public import Ledger
import SQLKit
public import Storage

/// Incidents in the database, every change of them in the ledger. Several gateway processes
/// report into one store: an open incident's key is unique (a partial index), so two processes
/// that see the same attack add to one incident instead of opening two.
public struct IncidentStore: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
    }

    public enum Reported: Sendable, Equatable {
        case opened(Incident)
        case grouped(Incident)
    }

    /// What a person did, refused: the note is required (at most 1,000 characters, no card
    /// number), the step must follow the lifecycle, resolving a high incident needs two people.
    public enum Refusal: Error, Sendable, Equatable {
        case notFound, noteRequired, noteHasCardNumber, notAllowed(from: Incident.Status, to: Incident.Status)
    }

    /// Opens an incident for a finding, or adds the finding to the open one with its key.
    public func report(_ finding: Finding) async throws -> Reported {
        let now = clock.now().unixSeconds
        for _ in 0..<3 {
            if let open = try await openIncident(key: finding.groupKey) {
                let added = try await database.withConnection { db in
                    try await db.update("incidents").set(
                        SQLIdentifier("events"), to: SQLBinaryExpression(SQLIdentifier("events"), .add, SQLBind(max(1, finding.count)))
                    )
                    .set("last_seen_at", to: now).where("id", .equal, open.id).where("status", .notEqual, "resolved").returning("id").first() != nil
                }
                // Resolved in between: the finding opens a new incident on the next round.
                guard added else { continue }
                var grouped = open
                grouped.events += max(1, finding.count)
                grouped.lastSeenAt = now
                return .grouped(grouped)
            }
            let incident = Incident(
                id: "inc_" + Base62.random(count: 16), kind: finding.kind, severity: finding.severity, status: .open, groupKey: finding.groupKey,
                summary: String(finding.summary.prefix(500)), source: finding.source, events: max(1, finding.openingCount ?? finding.count),
                firstSeq: finding.seq, openedAt: now,
                lastSeenAt: now)
            do {
                try await database.transaction { db in
                    try await db.insert(into: "incidents")
                        .columns(
                            "id", "kind", "severity", "status", "group_key", "summary", "source", "events", "first_seq", "opened_at", "last_seen_at",
                            "last_alert_at", "updated_at"
                        )
                        .values(
                            SQLBind(incident.id), SQLBind(incident.kind), SQLBind(incident.severity.rawValue), SQLBind("open"), SQLBind(incident.groupKey),
                            SQLBind(incident.summary), SQLBind(incident.source), SQLBind(incident.events), SQLBind(incident.firstSeq), SQLBind(now),
                            SQLBind(now),
                            SQLBind(now), SQLBind(now)
                        ).run()
                    try await ledger.record(
                        LedgerEntry(
                            time: clock.now(), actor: .system("sentinel"), action: "incident.opened",
                            objects: ["incident": incident.id, "kind": incident.kind, "severity": incident.severity.rawValue, "summary": incident.summary],
                            source: incident.source), on: db)
                }
                return .opened(incident)
            } catch {
                // Another process opened it between the look and the insert: add to theirs.
                if try await openIncident(key: finding.groupKey) == nil { throw error }
            }
        }
        throw Refusal.notFound
    }

    func openIncident(key: String) async throws -> Incident? {
        try await database.withConnection { db in
            try await db.select().column("*").from("incidents").where("group_key", .equal, key).where("status", .notEqual, "resolved").first()
                .flatMap(Self.incident)
        }
    }

    /// The newest resolved incident with this key: people looked at these findings already.
    public func resolved(key: String) async throws -> Incident? {
        try await database.withConnection { db in
            try await db.select().column("*").from("incidents").where("group_key", .equal, key).where("status", .equal, "resolved")
                .orderBy("opened_at", .descending).first().flatMap(Self.incident)
        }
    }

    /// Incidents, newest first; only those not resolved unless `all`.
    public func list(all: Bool = false, limit: Int = 500) async throws -> [Incident] {
        try await database.withConnection { db in
            var select = db.select().column("*").from("incidents")
            if !all { select = select.where("status", .notEqual, "resolved") }
            return try await select.orderBy("opened_at", .descending).limit(limit).all().compactMap(Self.incident)
        }
    }

    public func find(_ id: String) async throws -> Incident? {
        guard id.utf8.count <= 64 else { return nil }
        return try await database.withConnection { db in
            try await db.select().column("*").from("incidents").where("id", .equal, id).first().flatMap(Self.incident)
        }
    }

    /// Counts of incidents not resolved, by severity.
    public func openCounts() async throws -> [Incident.Severity: Int] {
        var counts: [Incident.Severity: Int] = [:]
        for incident in try await list() { counts[incident.severity, default: 0] += 1 }
        return counts
    }

    /// Someone has seen it and is on it.
    public func acknowledge(_ id: String, by person: String, note: String, source: String? = nil) async throws -> Incident {
        try await move(id, to: .acknowledged, from: [.open], by: person, note: note, source: source)
    }

    /// The attack is stopped (a source blocked, a key rolled, a file removed).
    public func contain(_ id: String, by person: String, note: String, source: String? = nil) async throws -> Incident {
        try await move(id, to: .contained, from: [.open, .acknowledged], by: person, note: note, source: source)
    }

    /// Closes it. A high incident needs two people: the first asks (`resolutionRequestedBy`),
    /// a second one resolves; the same person asking twice changes nothing.
    public func resolve(_ id: String, by person: String, note: String, source: String? = nil) async throws -> Incident {
        guard let incident = try await find(id) else { throw Refusal.notFound }
        guard incident.status == .acknowledged || incident.status == .contained else {
            throw Refusal.notAllowed(from: incident.status, to: .resolved)
        }
        if incident.severity == .high && (incident.resolutionRequestedBy == nil || incident.resolutionRequestedBy == person) {
            try Self.check(note)
            try await database.transaction { db in
                try await db.update("incidents").set("resolution_requested_by", to: person).set("updated_at", to: clock.now().unixSeconds)
                    .where("id", .equal, id).run()
                try await ledger.record(
                    LedgerEntry(
                        time: clock.now(), actor: LedgerActor(.operator, person), action: "incident.resolution_requested",
                        objects: ["incident": id, "note": String(note.prefix(1000))], source: source), on: db)
            }
            var asked = incident
            asked.resolutionRequestedBy = person
            return asked
        }
        return try await move(id, to: .resolved, from: [.acknowledged, .contained], by: person, note: note, source: source)
    }

    func move(
        _ id: String, to next: Incident.Status, from allowed: [Incident.Status], by person: String, note: String, source: String?
    ) async throws
        -> Incident
    {
        try Self.check(note)
        guard var incident = try await find(id) else { throw Refusal.notFound }
        let current = incident.status
        guard allowed.contains(current) else { throw Refusal.notAllowed(from: current, to: next) }
        let now = clock.now().unixSeconds
        try await database.transaction { db in
            var update = db.update("incidents").set("status", to: next.rawValue).set("updated_at", to: now).where("id", .equal, id)
                .where("status", .equal, current.rawValue)
            if next == .acknowledged { update = update.set("acknowledged_by", to: person) }
            if next == .resolved { update = update.set("resolved_by", to: person) }
            guard try await update.returning("id").first() != nil else { throw Refusal.notAllowed(from: current, to: next) }
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: LedgerActor(.operator, person), action: "incident.\(next.rawValue)",
                    objects: ["incident": id, "note": String(note.prefix(1000))], source: source), on: db)
        }
        incident.status = next
        if next == .acknowledged { incident.acknowledgedBy = person }
        if next == .resolved { incident.resolvedBy = person }
        return incident
    }

    static func check(_ note: String) throws {
        let trimmed = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 1000 else { throw Refusal.noteRequired }
        guard !CardNumberScan.containsCardNumber(trimmed) else { throw Refusal.noteHasCardNumber }
    }

    /// Open incidents nobody acknowledged whose last alert is older than `interval` seconds;
    /// each is marked alerted now (one process wins each, by a conditional update).
    public func claimRealerts(interval: Int64) async throws -> [Incident] {
        let now = clock.now().unixSeconds
        let due = try await database.withConnection { db in
            try await db.select().column("*").from("incidents").where("status", .equal, "open").where("last_alert_at", .lessThanOrEqual, now - interval)
                .limit(50).all().compactMap(Self.incident)
        }
        var claimed: [Incident] = []
        for incident in due {
            let won = try await database.withConnection { db in
                try await db.update("incidents").set("last_alert_at", to: now).where("id", .equal, incident.id)
                    .where("last_alert_at", .lessThanOrEqual, now - interval).returning("id").first() != nil
            }
            if won {
                try await ledger.record(
                    LedgerEntry(time: clock.now(), actor: .system("sentinel"), action: "incident.realerted", objects: ["incident": incident.id]))
                claimed.append(incident)
            }
        }
        return claimed
    }

    static func incident(_ row: any SQLRow) -> Incident? {
        guard let id = try? row.decode(column: "id", as: String.self),
            let severity = (try? row.decode(column: "severity", as: String.self)).flatMap(Incident.Severity.init),
            let status = (try? row.decode(column: "status", as: String.self)).flatMap(Incident.Status.init)
        else { return nil }
        return Incident(
            id: id, kind: (try? row.decode(column: "kind", as: String.self)) ?? "", severity: severity, status: status,
            groupKey: (try? row.decode(column: "group_key", as: String.self)) ?? "", summary: (try? row.decode(column: "summary", as: String.self)) ?? "",
            source: try? row.decode(column: "source", as: String?.self), events: (try? row.decode(column: "events", as: Int.self)) ?? 0,
            firstSeq: try? row.decode(column: "first_seq", as: Int?.self), openedAt: (try? row.decode(column: "opened_at", as: Int64.self)) ?? 0,
            lastSeenAt: (try? row.decode(column: "last_seen_at", as: Int64.self)) ?? 0,
            acknowledgedBy: try? row.decode(column: "acknowledged_by", as: String?.self),
            resolutionRequestedBy: try? row.decode(column: "resolution_requested_by", as: String?.self),
            resolvedBy: try? row.decode(column: "resolved_by", as: String?.self))
    }
}
