import Crypto
public import Foundation
import KessaiCore
import SQLKit
import Storage

/// Signs checkpoints with a key kept apart from the vault's keys.
public protocol CheckpointSigner: Sendable {
    /// An Ed25519 signature over `message`.
    func signCheckpoint(_ message: Data) throws -> Data
    /// The raw 32-byte Ed25519 public key.
    func checkpointPublicKey() throws -> Data
}

/// A signed tree head: the log had `size` entries with root `root` at `time`.
public struct Checkpoint: Sendable, Equatable, Codable {
    public let size: Int
    public let root: Data
    /// Milliseconds since the Unix epoch.
    public let time: Int64
    public let signature: Data
    /// The first 8 bytes of SHA-256 of the public key, hex: which key signed it.
    public let keyID: String

    enum CodingKeys: String, CodingKey {
        case size, root, time, signature
        case keyID = "key_id"
    }

    /// What is signed: a small text note, one field a line.
    public static func signedText(size: Int, root: Data, time: Int64) -> Data {
        Data("kessai-ledger-checkpoint/1\n\(size)\n\(root.base64EncodedString())\n\(time)\n".utf8)
    }

    /// Signs a tree head.
    public static func sign(size: Int, root: Data, time: Int64, signer: any CheckpointSigner) throws -> Checkpoint {
        Checkpoint(
            size: size, root: root, time: time,
            signature: try signer.signCheckpoint(signedText(size: size, root: root, time: time)),
            keyID: keyID(of: try signer.checkpointPublicKey())
        )
    }

    /// Whether the signature is valid under `publicKey`.
    public func verify(publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: Self.signedText(size: size, root: root, time: time))
    }

    /// The short identifier of a public key.
    public static func keyID(of publicKey: Data) -> String {
        Hex.encode(SHA256.hash(data: publicKey).prefix(8))
    }

    /// The checkpoint as one JSON line (for the off-host copy file and the API).
    public var jsonLine: String {
        JSONValue.object([
            ("key_id", .string(keyID)), ("root", .string(root.base64EncodedString())),
            ("signature", .string(signature.base64EncodedString())), ("size", .int(Int64(size))), ("time", .int(time)),
        ]).serialized()
    }

    /// Parses a line written by ``jsonLine``.
    public init?(jsonLine: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as? [String: Any],
            let size = (object["size"] as? NSNumber)?.intValue, let time = (object["time"] as? NSNumber)?.int64Value,
            let root = (object["root"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let signature = (object["signature"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let keyID = object["key_id"] as? String
        else { return nil }
        self.init(size: size, root: root, time: time, signature: signature, keyID: keyID)
    }

    public init(size: Int, root: Data, time: Int64, signature: Data, keyID: String) {
        self.size = size
        self.root = root
        self.time = time
        self.signature = signature
        self.keyID = keyID
    }
}

extension Ledger {
    /// Sequences what is pending, then signs the head if it grew since the last checkpoint.
    /// - Parameters:
    ///   - signer: the checkpoint key.
    ///   - copyTo: a file to append the checkpoint to as a JSON line (an off-host copy).
    /// - Returns: the new checkpoint, or `nil` when the log did not grow.
    @discardableResult
    public func checkpoint(signer: any CheckpointSigner, copyTo file: String? = nil) async throws -> Checkpoint? {
        try await sequenceAll()
        let time = Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down))
        let made: Checkpoint? = try await database.transaction { db in
            let range = try await Self.state(on: db, lock: true).range
            let last = try await db.select().column("size").from("ledger_checkpoints").orderBy("size", .descending).first()?
                .decode(column: "size", as: Int.self)
            guard range.size > 0, range.size > (last ?? 0) else { return nil }
            let checkpoint = try Checkpoint.sign(size: range.size, root: range.root, time: time, signer: signer)
            try await db.insert(into: "ledger_checkpoints").columns("size", "root", "time", "signature", "key_id")
                .values(SQLBind(checkpoint.size), SQLBind(checkpoint.root), SQLBind(checkpoint.time), SQLBind(checkpoint.signature), SQLBind(checkpoint.keyID))
                .run()
            return checkpoint
        }
        if let made, let file { try Self.append(line: made.jsonLine, to: file) }
        return made
    }

    /// Every stored checkpoint, smallest first.
    public func checkpoints() async throws -> [Checkpoint] {
        try await database.withConnection { db in
            try await db.select().columns("size", "root", "time", "signature", "key_id").from("ledger_checkpoints")
                .orderBy("size").all().map {
                    Checkpoint(
                        size: try $0.decode(column: "size", as: Int.self), root: try $0.decode(column: "root", as: Data.self),
                        time: try $0.decode(column: "time", as: Int64.self), signature: try $0.decode(column: "signature", as: Data.self),
                        keyID: try $0.decode(column: "key_id", as: String.self))
                }
        }
    }

    static func append(line: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw LedgerError.badRange("cannot append to \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.synchronize()
    }
}
