import KessaiCore
import Ledger
import SQLKit
import Storage
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Caps on card tries, so that a checkout page or a client secret is not a card-testing oracle:
/// - per PaymentIntent: at most ``CardAttemptPolicy/perIntent`` confirmations; further ones are refused
///   with `payment_intent_attempts_exceeded` (create a new intent to try again);
/// - per checkout session: at most ``CardAttemptPolicy/perSession`` card tries; the session expires when
///   the last one fails;
/// - per source address: at most ``CardAttemptPolicy/perSourcePerMinute`` tries from a buyer's browser
///   (publishable key or checkout page) a minute, then 429.
///
/// The counts per intent and session live in the database (`card_attempts`), so several gateway
/// processes share them; the per-source window is per process.
struct AttemptLimits: Sendable {
    typealias Policy = CardAttemptPolicy

    let database: KessaiDatabase
    let policy: Policy
    let sources: SourceWindow
    let clock: any KessaiClock

    init(database: KessaiDatabase, policy: Policy, clock: any KessaiClock) {
        self.database = database
        self.policy = policy
        self.sources = SourceWindow(limit: policy.perSourcePerMinute, window: 60)
        self.clock = clock
    }

    /// Counts one try against an intent or session (`pi_…`, `cs_…`).
    /// - Returns: the number of tries so far, this one included.
    func count(_ subject: String) async throws -> Int {
        let now = clock.now().unixSeconds
        return try await database.withConnection { db in
            let rows = try await db.raw(
                """
                INSERT INTO card_attempts (subject, attempts, updated_at) VALUES (\(bind: subject), 1, \(bind: now))
                ON CONFLICT (subject) DO UPDATE SET attempts = card_attempts.attempts + 1, updated_at = \(bind: now)
                RETURNING attempts
                """
            ).all()
            return try rows.first?.decode(column: "attempts", as: Int.self) ?? 1
        }
    }

    /// Whether a source may try another card now (counts the try when it may).
    func allowSource(_ source: String) -> Bool {
        sources.allow(FailureRecorder.group(source), now: clock.now().timeIntervalSince1970)
    }

    static let intentExhausted = APIError(
        kind: .invalidRequest, code: "payment_intent_attempts_exceeded",
        message: "This PaymentIntent has been tried too many times and accepts no more confirmations. Create a new PaymentIntent to try again.",
        status: 400)

    static let sourceLimited = APIError(
        kind: .rateLimit, code: "rate_limit", message: "Too many card attempts from this address. Wait a minute and try again.", status: 429)
}

/// A fixed window per key, bounded in memory: at most `limit` allowances per key per window.
final class SourceWindow: Sendable {
    private let state = Mutex<(start: TimeInterval, counts: [String: Int])>((0, [:]))
    let limit: Int
    let window: TimeInterval

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    func allow(_ key: String, now: TimeInterval) -> Bool {
        state.withLock { state in
            if now - state.start >= window || state.counts.count >= 100_000 { state = (now, [:]) }
            let count = state.counts[key, default: 0]
            guard count < limit else { return false }
            state.counts[key] = count + 1
            return true
        }
    }
}
