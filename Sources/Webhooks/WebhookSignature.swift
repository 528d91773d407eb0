import Crypto
import KessaiCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stripe's webhook signature scheme under Kessai's own header name (`Kessai-Signature`), so
/// existing verification helpers (`stripe.Webhook.construct_event`) work unchanged.
public enum WebhookSignature {
    /// The header carrying the signature.
    public static let header = "Kessai-Signature"

    /// `t=…,v1=…` with v1 = hex(HMAC-SHA256(secret, "t.body")).
    /// - Parameters:
    ///   - body: the exact bytes sent.
    ///   - secret: the endpoint's `whsec_…` secret.
    ///   - timestamp: Unix seconds, also signed, so an old body cannot be replayed later.
    public static func header(body: String, secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=\(Hex.encode(Data(mac)))"
    }
}
