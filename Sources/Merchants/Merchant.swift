public import KessaiCore

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A merchant (加盟店): the party whose keys call the API and who owns payment objects.
public struct Merchant: Sendable, Equatable {
    public let id: MerchantID
    /// The short public merchant code used on statements and in support.
    public let code: String
    public let name: String
    public let created: Date
    /// When an operator suspended it (its keys are refused); `nil` while it may take payments.
    public var suspendedAt: Int64? = nil
    /// Whether a payment with a card on the exposure watch list is blocked (else it is flagged).
    public var refusesWatchedCards = false
}

/// Which kind of API key: secret keys belong on the merchant's server, publishable keys in the
/// buyer's browser.
public enum APIKeyKind: String, Sendable {
    case secret
    case publishable

    var prefix: String { self == .secret ? "sk" : "pk" }
}

/// Test or live mode.
public enum APIKeyMode: String, Sendable {
    case test
    case live
}

/// The key that authenticated a request.
public struct AuthenticatedKey: Sendable, Equatable {
    public let id: APIKeyID
    public let merchant: MerchantID
    public let kind: APIKeyKind
    public let mode: APIKeyMode

    public var livemode: Bool { mode == .live }
}

/// A newly made pair of keys. The secret key is shown this once and never again.
public struct IssuedKeys: Sendable {
    public let secretKey: Secret<String>
    public let publishableKey: String
}

/// Why a presented key was refused.
public enum AuthenticationFailure: Error, Sendable, Equatable {
    /// Not well formed, or no such key.
    case invalid
    /// It existed but was replaced or revoked.
    case revoked
    /// The merchant is suspended by the provider.
    case suspended
}

/// Keyed hashing of API keys; the key never leaves the key source.
public protocol APIKeyHasher: Sendable {
    /// The hex digest under which a key is stored and looked up.
    func hash(_ key: String) throws -> String
}

/// A merchant with its key hints, for listings.
public struct MerchantSummary: Sendable {
    public let merchant: Merchant
    /// Masked secret keys (`sk_test_…abcd`) and full publishable keys that are in force.
    public let activeKeys: [String]
}
