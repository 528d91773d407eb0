public import KessaiCore
public import Ledger
import SQLKit
public import Storage

/// Reads the ledger past its cursor and applies the ``DetectionRules``. Several processes run
/// it; each batch is claimed by moving the shared cursor with a conditional update, so every
/// entry is counted by exactly one of them. Window counts live in `sentinel_counters`.
public struct LedgerWatcher: Sendable {
    let database: KessaiDatabase
    let incidents: IncidentStore
    let clock: any KessaiClock
    let rules: [DetectionRule]
    let batch: Int

    public init(database: KessaiDatabase, incidents: IncidentStore, clock: any KessaiClock, rules: [DetectionRule] = DetectionRules.all, batch: Int = 2_000) {
        self.database = database
        self.incidents = incidents
        self.clock = clock
        self.rules = rules
        self.batch = batch
    }

    /// One pass: claims the next batch of sequenced entries and reports what crosses a threshold.
    /// - Returns: the findings reported (opened or grouped).
    @discardableResult
    public func tick() async throws -> [IncidentStore.Reported] {
        let (cursor, rows) = try await database.withConnection { db -> (Int, [(Int, String)]) in
            let cursor =
                try await db.select().column("value").from("sentinel_state").where("name", .equal, "ledger_seq").first()?
                .decode(column: "value", as: Int.self) ?? -1
            let rows = try await db.select().columns("seq", "body").from("ledger_entries").where("seq", .greaterThan, cursor).orderBy("seq").limit(batch)
                .all().map { (try $0.decode(column: "seq", as: Int.self), try $0.decode(column: "body", as: String.self)) }
            return (cursor, rows)
        }
        guard let last = rows.last?.0 else { return [] }
        guard try await claim(from: cursor, to: last) else { return [] }
        var weights: [String: (rule: Int, subject: String, count: Int, seq: Int, source: String?)] = [:]
        for (seq, body) in rows {
            guard let entry = LedgerEntry(canonical: body) else { continue }
            for (index, rule) in rules.enumerated() {
                let weight = rule.weight(entry)
                guard weight > 0, let subject = rule.subject(entry) else { continue }
                let key = "\(index)\u{1}\(subject)"
                if let seen = weights[key] {
                    weights[key] = (index, subject, seen.count + weight, seen.seq, seen.source)
                } else {
                    weights[key] = (index, subject, weight, seq, entry.source)
                }
            }
        }
        var reported: [IncidentStore.Reported] = []
        for (_, item) in weights.sorted(by: { $0.value.seq < $1.value.seq }) {
            let rule = rules[item.rule]
            let (total, previous) = try await count(rule, subject: item.subject, adding: item.count)
            guard total >= max(rule.threshold, (rule.baselineFactor ?? 0) * previous) else { continue }
            var finding = Finding(
                kind: rule.kind, severity: rule.severity, groupKey: "\(rule.kind):\(item.subject)", summary: rule.summary(item.subject, total),
                source: item.source, seq: item.seq, count: item.count)
            finding.openingCount = total
            reported.append(try await incidents.report(finding))
        }
        return reported
    }

    /// Moves the shared cursor; `false` when another process moved it first.
    func claim(from old: Int, to new: Int) async throws -> Bool {
        try await database.withConnection { db in
            if old == -1,
                try await db.select().column("value").from("sentinel_state").where("name", .equal, "ledger_seq").first() == nil
            {
                do {
                    try await db.insert(into: "sentinel_state").columns("name", "value").values(SQLBind("ledger_seq"), SQLBind(new)).run()
                    return true
                } catch {
                    return false
                }
            }
            return try await db.update("sentinel_state").set("value", to: new).where("name", .equal, "ledger_seq").where("value", .equal, old)
                .returning("name").first() != nil
        }
    }

    /// Adds to a rule's window count for a subject (a new window when the last one ended).
    /// - Returns: the count in the current window, and the one before it (0 when that window
    ///   was not the one just before).
    func count(_ rule: DetectionRule, subject: String, adding weight: Int) async throws -> (Int, Int) {
        let now = clock.now().unixSeconds
        let subject = String(subject.prefix(200))
        let key = rule.kind + "/" + String(rule.threshold)
        // The row exists before the transaction locks it: two processes never both insert it.
        try await database.withConnection { db in
            try await db.insert(into: "sentinel_counters").columns("rule", "subject", "window_start", "count", "previous")
                .values(SQLBind(key), SQLBind(subject), SQLBind(now), SQLBind(0), SQLBind(0)).ignoringConflicts(with: ["rule", "subject"]).run()
        }
        return try await database.transaction { db in
            let row = try await db.select().columns("window_start", "count", "previous").from("sentinel_counters").for(.update).where(
                "rule", .equal, rule.kind + "/" + String(rule.threshold)
            )
            .where("subject", .equal, subject).first()
            if let row, now - (try row.decode(column: "window_start", as: Int64.self)) < rule.window {
                let total = try row.decode(column: "count", as: Int.self) + weight
                try await db.update("sentinel_counters").set("count", to: total).where("rule", .equal, rule.kind + "/" + String(rule.threshold))
                    .where("subject", .equal, subject).run()
                return (total, try row.decode(column: "previous", as: Int.self))
            }
            var previous = 0
            if let row, now - (try row.decode(column: "window_start", as: Int64.self)) < 2 * rule.window {
                previous = try row.decode(column: "count", as: Int.self)
            }
            // A new window (the row is new, or its window ended).
            let isNew = row.map { (try? $0.decode(column: "count", as: Int.self)) == 0 } ?? true
            if isNew { previous = 0 }
            try await db.update("sentinel_counters").set("window_start", to: now).set("count", to: weight).set("previous", to: previous)
                .where("rule", .equal, key).where("subject", .equal, subject).run()
            return (weight, previous)
        }
    }
}
