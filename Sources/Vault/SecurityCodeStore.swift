import Crypto
public import KessaiCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Holds security codes between tokenization and the first authorization.
///
/// PCI DSS 3.3.1/3.3.2 forbid keeping a security code after authorization, even encrypted. A
/// code that was ever written to disk under a key that is also on disk could be recovered by
/// someone holding both, so the live store keeps codes in process memory only, each sealed
/// under its own random key: destroying the entry drops the key (swift-crypto zeroes a
/// `SymmetricKey`'s bytes when it is released), and nothing was ever written that could bring
/// it back.
public protocol SecurityCodeStore: Sendable {
    /// Holds a code until `expiresAt` or until it is consumed.
    /// - Returns: `false` when the store refuses it (full); the payment method then reports its
    ///   CVC check as `unavailable`.
    func hold(_ code: SecurityCode, token: PaymentMethodID, merchant: MerchantID, expiresAt: Date) async -> Bool

    /// Takes a code out for an authorization and destroys it in the same step: a second call
    /// for the same token returns `nil`.
    func consume(token: PaymentMethodID, merchant: MerchantID, now: Date) async -> SecurityCode?

    /// Destroys every code whose time is up.
    /// - Returns: the tokens whose codes were destroyed.
    func destroyExpired(now: Date) async -> [PaymentMethodID]

    /// Whether a live code is held for a token (for status reporting; never reveals it).
    func isHeld(token: PaymentMethodID, now: Date) async -> Bool
}

/// The in-memory, per-process ``SecurityCodeStore``.
public actor InMemorySecurityCodeStore: SecurityCodeStore {
    private struct Entry {
        let sealed: Data
        let key: SymmetricKey
        let merchant: MerchantID
        let expiresAt: Date
    }

    private var entries: [PaymentMethodID: Entry] = [:]
    /// Tokens in the order they expire (every code gets the same lifetime, so insertion order),
    /// so the sweep touches only what expired instead of scanning every held code.
    private var expiryQueue: [(expiresAt: Date, token: PaymentMethodID)] = []
    private var queueHead = 0
    /// A bound on memory, so a flood of tokenizations cannot exhaust the process.
    public let capacity: Int

    public init(capacity: Int = 500_000) {
        self.capacity = capacity
    }

    public func hold(_ code: SecurityCode, token: PaymentMethodID, merchant: MerchantID, expiresAt: Date) -> Bool {
        guard entries.count < capacity else { return false }
        let key = SymmetricKey(size: .bits256)
        guard let sealed = try? AES.GCM.seal(Data(code.digits.utf8), using: key, authenticating: Self.context(token, merchant)).combined else {
            return false
        }
        entries[token] = Entry(sealed: sealed, key: key, merchant: merchant, expiresAt: expiresAt)
        if let last = expiryQueue.last, last.expiresAt > expiresAt {
            // Out of order (a shorter lifetime than before): keep the queue sorted.
            let index = expiryQueue[queueHead...].firstIndex { $0.expiresAt > expiresAt } ?? expiryQueue.count
            expiryQueue.insert((expiresAt, token), at: index)
        } else {
            expiryQueue.append((expiresAt, token))
        }
        return true
    }

    public func consume(token: PaymentMethodID, merchant: MerchantID, now: Date) -> SecurityCode? {
        guard let entry = entries.removeValue(forKey: token) else { return nil }
        guard entry.merchant == merchant, entry.expiresAt > now,
            let box = try? AES.GCM.SealedBox(combined: entry.sealed),
            let clear = try? AES.GCM.open(box, using: entry.key, authenticating: Self.context(token, merchant))
        else { return nil }
        return SecurityCode(validatedDigits: String(decoding: clear, as: UTF8.self))
    }

    public func destroyExpired(now: Date) -> [PaymentMethodID] {
        var expired: [PaymentMethodID] = []
        while queueHead < expiryQueue.count, expiryQueue[queueHead].expiresAt <= now {
            let token = expiryQueue[queueHead].token
            queueHead += 1
            // Consumed codes are gone already; a re-held token has a later expiry.
            if let entry = entries[token], entry.expiresAt <= now {
                entries[token] = nil
                expired.append(token)
            }
        }
        if queueHead > 4_096 && queueHead * 2 > expiryQueue.count {
            expiryQueue.removeFirst(queueHead)
            queueHead = 0
        }
        return expired
    }

    public func isHeld(token: PaymentMethodID, now: Date) -> Bool {
        entries[token].map { $0.expiresAt > now } ?? false
    }

    /// How many codes are held right now.
    public var count: Int { entries.count }

    private static func context(_ token: PaymentMethodID, _ merchant: MerchantID) -> Data {
        Data("kessai-cvc-v1|\(token.rawValue)|\(merchant.rawValue)".utf8)
    }
}
