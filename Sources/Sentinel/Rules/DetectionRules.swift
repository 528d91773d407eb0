public import Ledger

/// One detection rule over the ledger: which entries count, per what subject (a source address,
/// an actor, an account), and how many in what window open an incident. An aggregate entry
/// (`….aggregate`, written when a flood was only counted) counts for its `count`.
public struct DetectionRule: Sendable {
    public let kind: String
    public let severity: Incident.Severity
    /// Events per subject within ``window`` seconds that open (or add to) an incident.
    public let threshold: Int
    public let window: Int64
    let matches: @Sendable (LedgerEntry) -> Bool
    let subject: @Sendable (LedgerEntry) -> String?
    let summary: @Sendable (_ subject: String, _ count: Int) -> String
    /// When set, the threshold is also at least this many times the subject's previous window:
    /// the subject's own recent baseline, so a busy merchant key is judged against itself.
    var baselineFactor: Int? = nil

    /// How many events an entry stands for under this rule (0: it does not match).
    func weight(_ entry: LedgerEntry) -> Int {
        guard matches(entry) else { return 0 }
        if entry.action.hasSuffix(".aggregate") { return Int(entry.objects["count"] ?? "1") ?? 1 }
        return 1
    }
}

/// The rules, with their thresholds and windows (documented in docs/ARCHITECTURE.md).
public enum DetectionRules {
    static func action(_ entry: LedgerEntry, is name: String) -> Bool { entry.action == name || entry.action == name + ".aggregate" }

    public static let all: [DetectionRule] = [
        // Injection and probing: input carrying SQL, script or path-traversal signatures
        // (`security.probe_detected`, written by the HTTP edge), per source address.
        DetectionRule(
            kind: "injection_probing", severity: .high, threshold: 5, window: 600, matches: { action($0, is: "security.probe_detected") },
            subject: { $0.source }, summary: { "attack signatures (SQL injection, script or path traversal) in \($1)+ requests from \($0)" }),
        // Credential attacks: refused API keys, failed console sign-ins, lockouts.
        DetectionRule(
            kind: "api_key_attack", severity: .medium, threshold: 20, window: 300, matches: { action($0, is: "auth.failure") }, subject: { $0.source },
            summary: { "\($1)+ refused API keys from \($0)" }),
        DetectionRule(
            kind: "console_login_attack", severity: .high, threshold: 10, window: 600,
            matches: { action($0, is: "console.login") && ($0.outcome.hasPrefix("failure") || $0.action.hasSuffix(".aggregate")) },
            subject: { $0.source }, summary: { "\($1)+ failed console sign-ins from \($0)" }),
        DetectionRule(
            kind: "console_lockout", severity: .medium, threshold: 1, window: 3600, matches: { $0.action == "console.lockout" },
            subject: { $0.objects["user"] },
            summary: { subject, _ in "console account \(subject) locked after repeated failures (last from the source recorded)" }),
        // Card testing: bursts of tokenizations, and refused card tries, per source.
        DetectionRule(
            kind: "card_testing", severity: .medium, threshold: 30, window: 300, matches: { $0.action == "vault.tokenize" && $0.source != nil },
            subject: { $0.source }, summary: { "\($1)+ cards tokenized from \($0) within 5 minutes" }),
        DetectionRule(
            kind: "card_testing", severity: .medium, threshold: 5, window: 300, matches: { action($0, is: "security.card_attempts_refused") },
            subject: { $0.source }, summary: { "\($1)+ card tries refused for \($0) (attempt limits)" }),
        // ... and per merchant: declines (wrong code, expired, declined) from one address, or at
        // one merchant from many (a distributed test through one shop's checkout), and a
        // merchant's tokenizations far above its own last window.
        DetectionRule(
            kind: "card_testing", severity: .medium, threshold: 10, window: 300, matches: { $0.action == "card.declined" && $0.source != nil },
            subject: { $0.source }, summary: { "\($1)+ card payments declined for \($0) within 5 minutes" }),
        DetectionRule(
            kind: "card_testing", severity: .medium, threshold: 25, window: 300, matches: { $0.action == "card.declined" },
            subject: { $0.objects["merchant"].map { "merchant \($0)" } },
            summary: { "\($1)+ card payments declined at \($0) within 5 minutes: at least 25 and over 5× its previous window" },
            baselineFactor: 5),
        DetectionRule(
            kind: "card_testing", severity: .medium, threshold: 300, window: 300, matches: { $0.action == "vault.tokenize" },
            subject: { $0.objects["merchant"].map { "merchant \($0)" } },
            summary: { "\($1)+ cards tokenized at \($0) within 5 minutes: at least 300 and over 10× its previous window" },
            baselineFactor: 10),
        // Unusual card reads: any decrypt outside a payment flow, and bulk reads by one actor.
        DetectionRule(
            kind: "unusual_card_read", severity: .high, threshold: 1, window: 3600,
            matches: { $0.action == "vault.decrypt" && !["authorization", "refund", "key_rotation"].contains($0.purpose ?? "") },
            subject: { "\($0.actor.kind.rawValue):\($0.actor.id) on \($0.instance ?? "an unnamed process")" },
            summary: { subject, _ in "card data decrypted outside a payment flow by \(subject)" }),
        DetectionRule(
            kind: "bulk_card_reads", severity: .high, threshold: 1_000, window: 600, matches: { $0.action == "vault.decrypt" },
            subject: { "\($0.actor.kind.rawValue):\($0.actor.id) on \($0.instance ?? "an unnamed process")" },
            summary: { "\($1)+ card decrypts within 10 minutes by \($0) (process and host): at least 1,000 and over 10× its previous window" },
            baselineFactor: 10),
        // Configuration and keys.
        DetectionRule(
            kind: "config_changed", severity: .medium, threshold: 1, window: 86_400, matches: { $0.action == "config.changed" },
            subject: { $0.actor.id },
            summary: { subject, _ in "a process started with changed security settings (\(subject)); compare with the previous config.loaded" }),
        DetectionRule(
            kind: "key_rotation", severity: .low, threshold: 1, window: 86_400, matches: { $0.action.hasPrefix("vault.key_rotation") },
            subject: { _ in "kek" }, summary: { _, _ in "the key-encryption key was rotated" }),
        DetectionRule(
            kind: "new_admin", severity: .medium, threshold: 1, window: 86_400,
            matches: {
                ($0.action == "console.user.invited" && $0.objects["role"] == "admin")
                    || ($0.action == "console.user.role_changed" && $0.objects["to"] == "admin")
            },
            subject: { $0.objects["user"] }, summary: { subject, _ in "a new console admin: \(subject)" }),
        // Payment scripts and the pages' CSP reports.
        DetectionRule(
            kind: "script_integrity", severity: .high, threshold: 1, window: 3600, matches: { action($0, is: "security.script_integrity") },
            subject: { $0.objects["path"] ?? "script" }, summary: { subject, _ in "a served payment script differs from the inventory: \(subject)" }),
        DetectionRule(
            kind: "csp_violation", severity: .medium, threshold: 1, window: 3600, matches: { action($0, is: "security.csp_violation") },
            subject: { $0.objects["blocked_uri"] ?? $0.objects["directive"] ?? "page" },
            summary: { subject, _ in "a payment page reported a CSP violation: \(subject)" }),
        DetectionRule(
            kind: "card_number_in_free_text", severity: .low, threshold: 1, window: 3600, matches: { action($0, is: "security.card_number_refused") },
            subject: { $0.source }, summary: { subject, _ in "card numbers refused in free-text fields from \(subject)" }),
    ]
}
