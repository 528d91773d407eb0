import Crypto
import KessaiCore
import NIOPosix
import _CryptoExtras

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Password hashes with scrypt (swift-crypto's `_CryptoExtras`), a memory-hard KDF.
///
/// Parameters: N = 2^15, r = 8, p = 1 (32 MiB and about 0.1 s a hash on one core), a 16-byte
/// random salt, a 32-byte output. Stored as `scrypt$15$8$1$<salt>$<hash>` (base64), so the
/// parameters can be raised later and old hashes still verify. Hashing runs on NIO's thread pool,
/// off the request threads.
public struct PasswordHasher: Sendable {
    public var logN: Int
    public var blockSize: Int

    /// The production parameters.
    public init() {
        self.init(logN: 15, blockSize: 8)
    }

    /// Other parameters (tests use cheaper ones; stored hashes name their own).
    public init(logN: Int, blockSize: Int) {
        self.logN = logN
        self.blockSize = blockSize
    }

    public func hash(_ password: String) async throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255) }
        let derived = try await Self.derive(password, salt: salt, logN: logN, blockSize: blockSize)
        return "scrypt$\(logN)$\(blockSize)$1$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    /// Whether `password` matches `stored`; `false` for a stored value that is not a hash.
    public func verify(_ password: String, against stored: String) async throws -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), (10...20).contains(logN), let blockSize = Int(parts[2]),
            (1...16).contains(blockSize), parts[3] == "1", let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5])
        else { return false }
        let derived = try await Self.derive(password, salt: Array(salt), logN: logN, blockSize: blockSize)
        return ConstantTime.equal(Data(derived).base64EncodedString(), expected.base64EncodedString())
    }

    /// Spends the time of one verification, so that an unknown account answers as slowly as a
    /// known one.
    public func spendVerificationTime(_ password: String) async throws {
        _ = try await Self.derive(password, salt: Array(repeating: 0, count: 16), logN: logN, blockSize: blockSize)
    }

    static func derive(_ password: String, salt: [UInt8], logN: Int, blockSize: Int) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: blockSize, parallelism: 1)
            return key.withUnsafeBytes { Array($0) }
        }
    }
}
