import Crypto
import HummingbirdOTP
import KessaiCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Time-based one-time codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, computed by
/// hummingbird-auth's `HummingbirdOTP`) and single-use recovery codes.
///
/// A code is accepted for the current step and one step either side (clock drift), and only for a
/// step later than the last one the account used, so a code seen over someone's shoulder or
/// replayed from a log is refused (PCI DSS 8.5.1).
public enum OneTimeCodes {
    public static let step: Int64 = 30

    /// A new shared secret: 32 random characters whose bytes are the HMAC key (the
    /// `otpauth://` URI carries them in base32, as authenticator apps expect).
    public static func newSecret() -> String { Base62.random(count: 32) }

    /// The URI an authenticator app takes (typed in, or scanned from a QR code).
    public static func uri(secret: String, account: String, app: ConsoleApp) -> String {
        let issuer = app == .console ? "Kessai" : "Kessai-Dashboard"
        return TOTP(secret: secret).createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }

    /// The step a code is valid for, if it is one of `now`'s neighbours and later than
    /// `lastStep`; `nil` otherwise.
    public static func acceptedStep(_ code: String, secret: String, now: Date, after lastStep: Int64) -> Int64? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let presented = Int(digits) else { return nil }
        let current = Int64(now.timeIntervalSince1970) / step
        let totp = TOTP(secret: secret)
        for candidate in [current - 1, current, current + 1] where candidate > lastStep {
            if totp.compute(date: Date(timeIntervalSince1970: TimeInterval(candidate * step))) == presented { return candidate }
        }
        return nil
    }

    /// The code for a moment (tests and the CLI's checks).
    public static func code(secret: String, at date: Date) -> String {
        let value = TOTP(secret: secret).compute(date: date)
        let text = String(value)
        return String(repeating: "0", count: max(0, 6 - text.count)) + text
    }

    /// Ten recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes.
    public static func recoveryCodes() -> [String] {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        return (0..<10).map { _ in
            let characters = (0..<10).map { _ in alphabet.randomElement()! }
            return String(characters[0..<5]) + "-" + String(characters[5...])
        }
    }

    /// How a recovery code is stored: SHA-256 of its lower-cased form, hex (people type them).
    public static func digest(_ code: String) -> String {
        tokenDigest(code.lowercased())
    }

    /// How a session id or enrollment token is stored: SHA-256, hex, exactly as issued.
    public static func tokenDigest(_ token: String) -> String {
        Hex.encode(Data(SHA256.hash(data: Data(token.utf8))))
    }
}

/// Seals the shared secrets at rest (AES-GCM under a key the gateway derives from its key source;
/// the account id is bound in, so a sealed secret moved to another account does not open).
public struct SecretSealer: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    public func seal(_ secret: String, account: String) throws -> String {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Data(account.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return combined.base64EncodedString()
    }

    public func open(_ sealed: String, account: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw CryptoKitError.incorrectParameterSize }
        let opened = try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key, authenticating: Data(account.utf8))
        return String(decoding: opened, as: UTF8.self)
    }
}
