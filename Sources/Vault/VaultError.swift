/// What can go wrong in the vault. Messages never contain card data.
public enum VaultError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No card is stored under this token for this merchant.
    case notFound
    /// The ciphertext or its wrapped key did not authenticate: it was altered, or it was moved
    /// onto a row (token or merchant) it does not belong to.
    case decryptionFailed(token: String)
    /// The key source does not hold this key-encryption key version.
    case unknownKeyVersion(Int)
    /// The key version exists but is retired; nothing may be wrapped under it.
    case retiredKeyVersion(Int)
    /// The key file is missing or malformed.
    case keyFile(String)
    /// No key-encryption key is marked active.
    case noActiveKey
    /// A write batch takes one card read's ledger entry, and more than one was waiting.
    case tooManyReads

    public var description: String {
        switch self {
        case .notFound: "no card is stored under this token"
        case .decryptionFailed(let token): "card data for \(token) failed authentication: it was altered or does not belong to this row"
        case .unknownKeyVersion(let version): "the key source has no key-encryption key version \(version)"
        case .retiredKeyVersion(let version): "key-encryption key version \(version) is retired"
        case .keyFile(let why): "key file: \(why)"
        case .noActiveKey: "no key-encryption key version is active"
        case .tooManyReads: "a write batch takes one card read's ledger entry, and more than one was waiting"
        }
    }
}
