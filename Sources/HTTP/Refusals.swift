import KessaiCore
import Ledger
import Logging

/// Security events for requests Kessai refuses on purpose: a card number in a free-text field,
/// a card tried too often. Each is a security event (a `security_events` row and a ledger
/// entry), written in full up to the ``FailureRecorder``'s limit per source and window and
/// counted beyond it, so a misbehaving client cannot flood the ledger either.
struct Refusals: Sendable {
    let events: SecurityEvents
    let failures: FailureRecorder
    let clock: any KessaiClock
    let logger: Logger

    /// A card number stood in a parameter that is not for one.
    func cardNumber(_ refusal: CardNumberInFreeText, path: String, context: KessaiRequestContext) async {
        await record(
            "card_number_refused", detail: [("parameter", refusal.parameter), ("path", String(path.prefix(200)))], subject: refusal.parameter,
            context: context)
    }

    /// A card try refused by ``AttemptLimits``.
    /// - Parameters:
    ///   - reason: `intent_attempts`, `session_attempts` or `source_rate`.
    ///   - object: the intent or session tried.
    func attempts(_ reason: String, object: String, context: KessaiRequestContext) async {
        await record("card_attempts_refused", detail: [("reason", reason), ("object", object)], subject: reason, context: context)
    }

    /// An attack signature in a request (``ProbeDetector``); the request itself goes on.
    /// - Parameters:
    ///   - kind: `sql`, `script` or `traversal`.
    ///   - place: `path`, `query` or `body`.
    func probe(_ kind: String, place: String, path: String, context: KessaiRequestContext) async {
        let shown = CardNumberScan.containsCardNumber(path) ? "(withheld: holds a card-like number)" : String(path.prefix(100))
        await record("probe_detected", detail: [("signature", kind), ("in", place), ("path", shown)], subject: kind, context: context)
    }

    private func record(_ kind: String, detail: [(String, String)], subject: String, context: KessaiRequestContext) async {
        let actor = LedgerActor(.anonymous, context.remoteAddress)
        let entry = LedgerEntry(
            time: clock.now(), actor: actor, action: "security.\(kind)", requestID: context.requestID.rawValue, source: context.remoteAddress,
            outcome: "refused")
        do {
            guard try await failures.admit(entry, subject: subject) == .recorded else { return }
            try await events.record(kind, detail: detail, source: context.remoteAddress, requestID: context.requestID.rawValue, actor: actor)
        } catch {
            // The refusal stands whatever happens to its record; the failure is for operators.
            logger.error("recording a refusal failed", metadata: ["event": .string(kind), "error": "\(String(describing: error).prefix(300))"])
        }
    }
}
