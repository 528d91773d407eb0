public import KessaiCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Records refused authentications (API keys, operator tokens, console logins) without letting a
/// flood from one source fill the ledger, which cannot be pruned for 90 days.
///
/// Per source and subject (a key's prefix, a login name) the first ``Policy/fullEntries``
/// failures of a window are written in full; later ones in that window are only counted, and
/// when the window ends one aggregate entry (`<action>.aggregate`, objects `count`,
/// `window_start`, `window_end`) says how many more there were. Entries in full plus the
/// aggregates' counts always equal the failures seen. IPv6 sources are grouped by their /64
/// (one host holds a whole /64), and a global budget per window bounds what many sources write
/// together: past it, failures are counted under the source `*`.
public final class FailureRecorder: Sendable {
    /// How much is written in full.
    public struct Policy: Sendable {
        /// Failures per source and subject written in full in one window.
        public var fullEntries = 20
        /// The window, in seconds.
        public var window: TimeInterval = 60
        /// Failures written in full per window from all sources together.
        public var globalFullEntries = 1_000

        public init() {}
    }

    /// What ``record(_:subject:)`` did with a failure.
    public enum Outcome: Sendable, Equatable {
        /// Written to the ledger in full.
        case recorded
        /// Counted, for the window's aggregate entry.
        case counted
    }

    struct Key: Hashable {
        let action: String
        let source: String
        let subject: String
    }

    struct Bucket {
        var start: Int64
        var recorded = 0
        var counted = 0
        var actor: LedgerActor
    }

    struct State {
        var buckets: [Key: Bucket] = [:]
        var globalStart: Int64 = 0
        var globalRecorded = 0
        /// Windows are closed at most once a second here (``flush(all:)`` closes them too), so a
        /// flood does not walk every window on every failure.
        var nextSweep: Int64 = 0
    }

    let ledger: Ledger
    let clock: any KessaiClock
    public let policy: Policy
    private let state = Mutex(State())

    public init(ledger: Ledger, clock: any KessaiClock, policy: Policy = Policy()) {
        self.ledger = ledger
        self.clock = clock
        self.policy = policy
    }

    /// Records one failure, in full or as a count.
    /// - Parameters:
    ///   - entry: the failure as it would be written in full (its `source` groups it).
    ///   - subject: what the failure was against, from a small fixed set (a key prefix such as
    ///     `sk_test`) or an account name, so that made-up keys do not each get a window.
    /// - Returns: whether it was written in full or counted.
    /// - Throws: what writing the ledger throws.
    @discardableResult
    public func record(_ entry: LedgerEntry, subject: String) async throws -> Outcome {
        let outcome = try await admit(entry, subject: subject)
        if outcome == .recorded { try await ledger.record(entry) }
        return outcome
    }

    /// Counts one failure and says whether it is to be written in full, leaving the writing to
    /// the caller (a security event writes its own row and ledger entry). Aggregates of windows
    /// that ended are written here.
    public func admit(_ entry: LedgerEntry, subject: String) async throws -> Outcome {
        let now = entry.time
        let windowMillis = Int64(policy.window * 1000)
        let (outcome, closed) = state.withLock { state -> (Outcome, [LedgerEntry]) in
            var closed: [LedgerEntry] = []
            if now >= state.nextSweep {
                closed = Self.closeWindows(&state, before: now - windowMillis, now: now, window: windowMillis)
                state.nextSweep = now + 1_000
            }
            if now - state.globalStart >= windowMillis {
                state.globalStart = now
                state.globalRecorded = 0
            }
            var key = Key(action: entry.action, source: Self.group(entry.source), subject: subject)
            if state.buckets[key] == nil && state.globalRecorded >= policy.globalFullEntries {
                key = Key(action: entry.action, source: "*", subject: "*")
            }
            if let old = state.buckets[key], now - old.start >= windowMillis {
                // This source's window ended since the last sweep: close it on its own.
                var single = State(buckets: [key: old])
                closed += Self.closeWindows(&single, before: Int64.max, now: now, window: windowMillis)
                state.buckets[key] = nil
            }
            var bucket = state.buckets[key] ?? Bucket(start: now, actor: entry.actor)
            let outcome: Outcome
            if bucket.recorded < policy.fullEntries && state.globalRecorded < policy.globalFullEntries {
                bucket.recorded += 1
                state.globalRecorded += 1
                outcome = .recorded
            } else {
                bucket.counted += 1
                outcome = .counted
            }
            state.buckets[key] = bucket
            return (outcome, closed)
        }
        for aggregate in closed { try await ledger.record(aggregate) }
        return outcome
    }

    /// Writes the aggregate entry of every window that has ended (all windows when `all`).
    /// - Returns: how many aggregate entries were written.
    @discardableResult
    public func flush(all: Bool = false) async throws -> Int {
        let now = Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down))
        let window = Int64(policy.window * 1000)
        let closed = state.withLock { Self.closeWindows(&$0, before: all ? Int64.max : now - window, now: now, window: window) }
        for aggregate in closed { try await ledger.record(aggregate) }
        return closed.count
    }

    /// Removes the windows that started at or before `cutoff`, returning an aggregate entry for
    /// each that counted failures; the entry is dated at the window's end (or `now`, if sooner).
    private static func closeWindows(_ state: inout State, before cutoff: Int64, now: Int64, window: Int64) -> [LedgerEntry] {
        var aggregates: [LedgerEntry] = []
        for (key, bucket) in state.buckets where bucket.start <= cutoff {
            state.buckets[key] = nil
            guard bucket.counted > 0 else { continue }
            let end = min(bucket.start + window, now)
            var entry = LedgerEntry(
                time: Date(timeIntervalSince1970: TimeInterval(end) / 1000), actor: bucket.actor, action: key.action + ".aggregate",
                objects: [
                    "count": String(bucket.counted), "window_start": String(bucket.start), "window_end": String(end), "subject": key.subject,
                ],
                source: key.source, outcome: "\(bucket.counted) more failures from \(key.source) in this window")
            entry.time = end
            aggregates.append(entry)
        }
        return aggregates.sorted { $0.time < $1.time }
    }

    /// A source as it is grouped: an IPv6 address by its /64, anything else as it is.
    public static func group(_ source: String?) -> String {
        guard let source, !source.isEmpty else { return "unknown" }
        guard source.contains(":"), let address = IPv6Prefix(source) else { return source }
        return address.text
    }
}

/// The first 64 bits of an IPv6 address, written `a:b:c:d::/64`.
struct IPv6Prefix {
    let text: String

    init?(_ address: String) {
        let bare = address.split(separator: "%", maxSplits: 1).first.map(String.init) ?? address
        let halves = bare.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [String]? {
            part.isEmpty ? [] : part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
        guard let head = groups(halves[0]) else { return nil }
        let tail = halves.count == 2 ? (groups(halves[1]) ?? []) : []
        let missing = 8 - head.count - tail.count
        guard halves.count == 2 ? missing >= 0 : head.count == 8 else { return nil }
        let full = head + Array(repeating: "0", count: max(missing, 0)) + tail
        let first = full.prefix(4).map { group -> String in
            let trimmed = group.drop { $0 == "0" }
            return trimmed.isEmpty ? "0" : String(trimmed).lowercased()
        }
        guard first.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
        text = first.joined(separator: ":") + "::/64"
    }
}
