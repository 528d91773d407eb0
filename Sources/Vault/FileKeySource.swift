public import Crypto
public import Ledger
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keys kept in a JSON file with mode 0600, outside the database. Good for development and for
/// a single host whose disk is protected; production should prefer custodian shares or an HSM.
public final class FileKeySource: KeySource {
    /// The file's path.
    public let path: String
    private let state: Mutex<Loaded>

    /// The file's contents with its keys decoded once.
    struct Loaded {
        var contents: Contents
        var keyEncryptionKeys: [Int: SymmetricKey]
        var macKeys: [MACPurpose: SymmetricKey]
        var checkpointKey: Curve25519.Signing.PrivateKey?

        init(_ contents: Contents) {
            self.contents = contents
            self.checkpointKey = contents.signingKeys[FileKeySource.checkpointKeyName].flatMap(FileKeySource.decodeSigningKey)
            self.keyEncryptionKeys = Dictionary(
                uniqueKeysWithValues: contents.keyEncryptionKeys.compactMap { version, text in
                    guard let number = Int(version), let key = FileKeySource.decodeKey(text) else { return nil }
                    return (number, key)
                })
            self.macKeys = Dictionary(
                uniqueKeysWithValues: MACPurpose.allCases.compactMap { purpose in
                    contents.macKeys[purpose.rawValue].flatMap(FileKeySource.decodeKey).map { (purpose, $0) }
                })
        }
    }

    struct Contents: Codable {
        var format: String
        var purpose: String
        var keyEncryptionKeys: [String: String]
        var macKeys: [String: String]
        /// Ed25519 private keys by use; `ledger_checkpoint` signs the ledger's tree heads.
        var signingKeys: [String: String]

        enum CodingKeys: String, CodingKey {
            case format
            case purpose
            case keyEncryptionKeys = "key_encryption_keys"
            case macKeys = "mac_keys"
            case signingKeys = "signing_keys"
        }
    }

    static let format = "kessai-keyfile/1"

    /// Opens an existing key file.
    /// - Throws: ``VaultError/keyFile(_:)`` when it is missing, unreadable, malformed, or readable by others.
    public init(path: String) throws {
        self.path = path
        self.state = Mutex(Loaded(try Self.read(path: path)))
    }

    /// Whether the file was generated for development.
    public var isDevelopment: Bool { state.withLock { $0.contents.purpose == "development" } }

    /// Creates a new key file with one key-encryption key and one key per MAC purpose, with mode
    /// 0600. Refuses to overwrite an existing file.
    /// - Parameters:
    ///   - path: where to write it.
    ///   - purpose: `development` or `production`, recorded in the file.
    /// - Returns: the opened source.
    public static func generate(path: String, purpose: String) throws -> FileKeySource {
        var contents = Contents(format: format, purpose: purpose, keyEncryptionKeys: [:], macKeys: [:], signingKeys: [:])
        contents.keyEncryptionKeys["1"] = newKeyText()
        contents.signingKeys[Self.checkpointKeyName] = Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString()
        for purpose in MACPurpose.allCases {
            contents.macKeys[purpose.rawValue] = newKeyText()
        }
        try write(contents, to: path, exclusive: true)
        return try FileKeySource(path: path)
    }

    public func versions() throws -> [Int] {
        state.withLock { $0.keyEncryptionKeys.keys.sorted() }
    }

    public func wrap(_ dataKey: SymmetricKey, version: Int, context: Data) throws -> Data {
        let kek = try keyEncryptionKey(version)
        let box = try dataKey.withUnsafeBytes { bytes in
            try AES.GCM.seal(Data(bytes), using: kek, authenticating: context)
        }
        guard let combined = box.combined else { throw VaultError.keyFile("AES-GCM produced no combined form") }
        return combined
    }

    public func unwrap(_ wrapped: Data, version: Int, context: Data) throws -> SymmetricKey {
        let kek = try keyEncryptionKey(version)
        let box = try AES.GCM.SealedBox(combined: wrapped)
        return SymmetricKey(data: try AES.GCM.open(box, using: kek, authenticating: context))
    }

    public func mac(_ message: Data, purpose: MACPurpose) throws -> Data {
        guard let key = state.withLock({ $0.macKeys[purpose] }) else {
            throw VaultError.keyFile("no key for \(purpose.rawValue)")
        }
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    public func createVersion() throws -> Int {
        try state.withLock { loaded in
            let next = (loaded.keyEncryptionKeys.keys.max() ?? 0) + 1
            var updated = loaded.contents
            updated.keyEncryptionKeys[String(next)] = Self.newKeyText()
            try Self.write(updated, to: path, exclusive: false)
            loaded = Loaded(updated)
            return next
        }
    }

    public func destroyVersion(_ version: Int) throws {
        try state.withLock { loaded in
            var updated = loaded.contents
            updated.keyEncryptionKeys[String(version)] = nil
            guard !updated.keyEncryptionKeys.isEmpty else { throw VaultError.keyFile("refusing to destroy the last key-encryption key") }
            try Self.write(updated, to: path, exclusive: false)
            loaded = Loaded(updated)
        }
    }

    public func reload() throws {
        let fresh = Loaded(try Self.read(path: path))
        state.withLock { $0 = fresh }
    }

    private func keyEncryptionKey(_ version: Int) throws -> SymmetricKey {
        if let key = state.withLock({ $0.keyEncryptionKeys[version] }) {
            return key
        }
        // Another process (key rotation) may have added it since we read the file.
        try reload()
        guard let key = state.withLock({ $0.keyEncryptionKeys[version] }) else {
            throw VaultError.unknownKeyVersion(version)
        }
        return key
    }

    static let checkpointKeyName = "ledger_checkpoint"

    fileprivate static func decodeSigningKey(_ text: String) -> Curve25519.Signing.PrivateKey? {
        Data(base64Encoded: text).flatMap { try? Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
    }

    private static func newKeyText() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    fileprivate static func decodeKey(_ text: String) -> SymmetricKey? {
        guard let data = Data(base64Encoded: text), data.count == 32 else { return nil }
        return SymmetricKey(data: data)
    }

    private static func read(path: String) throws -> Contents {
        var info = stat()
        guard stat(path, &info) == 0 else { throw VaultError.keyFile("\(path) does not exist") }
        guard info.st_mode & 0o077 == 0 else {
            throw VaultError.keyFile("\(path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw VaultError.keyFile("\(path) cannot be read") }
        guard let contents = try? JSONDecoder().decode(Contents.self, from: data), contents.format == format else {
            throw VaultError.keyFile("\(path) is not a \(format) file")
        }
        guard !contents.keyEncryptionKeys.isEmpty,
            contents.keyEncryptionKeys.values.allSatisfy({ decodeKey($0) != nil }),
            MACPurpose.allCases.allSatisfy({ contents.macKeys[$0.rawValue].flatMap(decodeKey) != nil })
        else { throw VaultError.keyFile("\(path) holds a missing or malformed key") }
        return contents
    }

    /// Writes the file through a temporary file with mode 0600, fsync and rename, so that a crash
    /// leaves either the old file or the new one, never half of one.
    private static func write(_ contents: Contents, to path: String, exclusive: Bool) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(contents)
        if exclusive && access(path, F_OK) == 0 { throw VaultError.keyFile("\(path) already exists") }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw VaultError.keyFile("cannot create \(temporary)") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else {
            unlink(temporary)
            throw VaultError.keyFile("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw VaultError.keyFile("cannot replace \(path)")
        }
    }
}

extension FileKeySource: CheckpointSigner {
    public func signCheckpoint(_ message: Data) throws -> Data {
        guard let key = state.withLock({ $0.checkpointKey }) else { throw VaultError.keyFile("no ledger checkpoint key") }
        return try key.signature(for: message)
    }

    public func checkpointPublicKey() throws -> Data {
        guard let key = state.withLock({ $0.checkpointKey }) else { throw VaultError.keyFile("no ledger checkpoint key") }
        return key.publicKey.rawRepresentation
    }
}
