public import Crypto
// Full Foundation: JSONSerialization reads the export file.
public import Foundation
public import KessaiCore
public import Ledger
import Storage
public import Vault

/// The one bulk export of card numbers Kessai makes: the cards a scope found read in clear, for
/// the card brands and acquirers, sealed to the recipient's public key with HPKE (RFC 9180,
/// X25519 / HKDF-SHA256 / ChaCha20-Poly1305). Kessai never holds the private key, so the file
/// opens only at the recipient (`kessai incident open-export`). Each card is read from the vault
/// with purpose `investigation` under the approval that allowed it (ledger entries), and the
/// export itself is a ledger entry with the file's SHA-256.
public enum CardExport {
    public static let ciphersuite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    public static let format = "kessai-card-export-v1"

    public enum Failure: Error, Sendable, Equatable {
        case badRecipientKey, badFile, wrongKey
    }

    /// The recipient's public key from its base64 (32 bytes, X25519).
    public static func recipient(_ base64: String) throws -> Curve25519.KeyAgreement.PublicKey {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32,
            let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: data)
        else { throw Failure.badRecipientKey }
        return key
    }

    /// Reads the cards of a scope and seals them.
    /// - Returns: the sealed file (JSON) and how many cards it holds.
    public static func make(
        scope: ExposureScope.Result, recipient: Curve25519.KeyAgreement.PublicKey, approval: String, vault: Vault, database: KessaiDatabase,
        ledger: Ledger, actor: LedgerActor, source: String?
    ) async throws -> (Data, Int) {
        var lines = ["merchant,payment_method,card_number,reads,first_read,last_read"]
        var context = AccessContext(actor: actor, requestID: approval, source: source)
        context.payment = nil
        for merchant in scope.merchants {
            for (token, reads) in merchant.readInClear.sorted(by: { $0.key < $1.key }) {
                guard let id = PaymentMethodID(parsing: token) else { continue }
                let pan = try await vault.reveal(
                    token: id, merchant: MerchantID(rawValue: merchant.merchant), purpose: .investigation, context: context, in: database)
                let times = reads.map(\.time)
                lines.append(
                    "\(merchant.merchant),\(token),\(pan.digits),\(reads.count),\(iso(times.min() ?? 0)),\(iso(times.max() ?? 0))")
            }
        }
        let plaintext = Data((lines.joined(separator: "\n") + "\n").utf8)
        let info = Data("\(format) \(approval)".utf8)
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: ciphersuite, info: info)
        let sealed = try sender.seal(plaintext)
        let file = JSONValue.object([
            ("format", .string(format)), ("ciphersuite", "X25519_SHA256_ChaChaPoly"), ("approval", .string(approval)),
            ("encapsulated_key", .string(sender.encapsulatedKey.base64EncodedString())), ("ciphertext", .string(sealed.base64EncodedString())),
        ]).serialized()
        let data = Data(file.utf8)
        try await ledger.record(
            LedgerEntry(
                time: Date(), actor: actor, action: "cards.exported",
                objects: [
                    "approval": approval, "cards": String(lines.count - 1), "sha256": Hex.encode(Data(SHA256.hash(data: data))),
                    "recipient": Hex.encode(Data(SHA256.hash(data: recipient.rawRepresentation)).prefix(8)),
                ], source: source))
        return (data, lines.count - 1)
    }

    /// Opens an export with the recipient's private key.
    /// - Returns: the CSV of cards.
    public static func open(_ file: Data, privateKey: Curve25519.KeyAgreement.PrivateKey) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: file) as? [String: Any], object["format"] as? String == format,
            let approval = object["approval"] as? String, let encapsulated = (object["encapsulated_key"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let ciphertext = (object["ciphertext"] as? String).flatMap({ Data(base64Encoded: $0) })
        else { throw Failure.badFile }
        do {
            var recipient = try HPKE.Recipient(
                privateKey: privateKey, ciphersuite: ciphersuite, info: Data("\(format) \(approval)".utf8), encapsulatedKey: encapsulated)
            return String(decoding: try recipient.open(ciphertext), as: UTF8.self)
        } catch {
            throw Failure.wrongKey
        }
    }

    static func iso(_ millis: Int64) -> String { Date(timeIntervalSince1970: TimeInterval(millis) / 1000).ISO8601Format() }
}
