public import Crypto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a keyed hash is for. Each purpose has its own key, so a fingerprint can never be
/// compared with an API-key hash.
public enum MACPurpose: String, Sendable, CaseIterable {
    /// "Is this the same card?" across tokens.
    case cardFingerprint = "card_fingerprint"
    /// Stored hashes of merchants' secret API keys.
    case apiKeyHash = "api_key_hash"
}

/// Where key-encryption keys live. The vault only ever asks a key source to wrap and unwrap
/// data keys and to compute keyed hashes, so that a source backed by a hardware security module
/// never has to let its keys out. A key file is the implementation today; custodian shares and
/// PKCS#11 come later behind the same protocol.
public protocol KeySource: Sendable {
    /// The key-encryption key versions this source holds, in ascending order.
    func versions() throws -> [Int]

    /// Wraps (encrypts) a data key under one key-encryption key version.
    /// - Parameters:
    ///   - dataKey: the data key to wrap.
    ///   - version: the key-encryption key version.
    ///   - context: associated data bound into the wrap (token, merchant, version).
    /// - Returns: the wrapped key (nonce, ciphertext and tag).
    /// - Throws: ``VaultError/unknownKeyVersion(_:)``.
    func wrap(_ dataKey: SymmetricKey, version: Int, context: Data) throws -> Data

    /// Unwraps a data key.
    /// - Throws: ``VaultError/unknownKeyVersion(_:)``, or a CryptoKit error when it does not authenticate.
    func unwrap(_ wrapped: Data, version: Int, context: Data) throws -> SymmetricKey

    /// A keyed hash (HMAC-SHA256) of a message, under the key for this purpose.
    func mac(_ message: Data, purpose: MACPurpose) throws -> Data

    /// Creates a new key-encryption key version and makes it durable in the source.
    /// - Returns: the new version number.
    func createVersion() throws -> Int

    /// Destroys a key-encryption key version for good.
    func destroyVersion(_ version: Int) throws

    /// Re-reads the source, to see versions that another process created.
    func reload() throws
}
