import Hummingbird
import KessaiCore
import Ledger
import Logging
import Merchants

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads `Authorization: Bearer KEY` (or HTTP Basic with the key as user name, as curl's `-u`
/// sends it) and checks the key's kind for the endpoint.
struct Authenticator: Sendable {
    let merchants: MerchantStore
    /// Refusals go to the ledger through it: in full up to a limit per source, then counted.
    let failures: FailureRecorder
    let clock: any KessaiClock

    /// Which keys an endpoint accepts.
    enum Accepts {
        case secret
        case publishable
        /// Either kind (the endpoint checks what a publishable key may see itself).
        case either
    }

    func authenticate(_ request: Request, context: KessaiRequestContext, accepts: Accepts) async throws -> AuthenticatedKey {
        guard let presented = Self.presentedKey(request) else {
            try await fail(context, reason: "missing", hint: nil)
            throw APIError(
                kind: .authentication, code: nil, message: "You did not provide an API key. Provide it in the Authorization header, as 'Bearer YOUR_KEY'.",
                status: 401)
        }
        return try await authenticate(presented: presented, context: context, accepts: accepts)
    }

    /// Checks a key that came some other way than the Authorization header (the card iframe's
    /// `key` parameter): a refusal is logged and recorded in the ledger all the same.
    func authenticate(presented: String, context: KessaiRequestContext, accepts: Accepts) async throws -> AuthenticatedKey {
        let key: AuthenticatedKey
        do {
            key = try await merchants.authenticate(presented)
        } catch let failure as AuthenticationFailure {
            try await fail(context, reason: failure == .invalid ? "invalid" : "\(failure)", hint: Self.hint(presented))
            throw failure
        }
        switch (accepts, key.kind) {
        case (.secret, .secret), (.publishable, .publishable), (.either, _):
            return key
        case (.secret, .publishable):
            try await fail(context, reason: "wrong_kind", hint: Self.hint(presented), key: key)
            throw APIError(
                kind: .permission, code: "secret_key_required",
                message: "This API call cannot be made with a publishable API key. Use your secret key, from your server.", status: 403)
        case (.publishable, .secret):
            try await fail(context, reason: "wrong_kind", hint: Self.hint(presented), key: key)
            throw APIError(
                kind: .permission, code: "publishable_key_required",
                message: "Card details must be sent from the buyer's browser with your publishable key, never from your server with a secret key.", status: 403)
        }
    }

    /// Logs and records a refused key. The key is named only masked; a flood from one source is
    /// counted rather than written out (``FailureRecorder``), and only what is written is logged.
    private func fail(_ context: KessaiRequestContext, reason: String, hint: String?, key: AuthenticatedKey? = nil) async throws {
        var objects: [String: String] = [:]
        if let key {
            objects = ["merchant": key.merchant.rawValue, "api_key": key.id.rawValue]
        }
        let entry = LedgerEntry(
            time: clock.now(), actor: LedgerActor(.anonymous, hint ?? "none"), action: "auth.failure", objects: objects,
            requestID: context.requestID.rawValue, source: context.remoteAddress, outcome: reason)
        guard try await failures.record(entry, subject: Self.prefix(hint)) == .recorded else { return }
        context.logger.warning(
            "authentication failed",
            metadata: [
                "event": "auth_failure", "reason": .string(reason), "key": .string(hint ?? "none"), "remote": .string(context.remoteAddress),
            ])
    }

    /// The kind of key a hint names, from a fixed set, so made-up keys share one window.
    static func prefix(_ hint: String?) -> String {
        guard let hint else { return "none" }
        let known = ["sk_test", "sk_live", "pk_test", "pk_live", "rk_test", "rk_live", "op"]
        return known.first { hint.hasPrefix($0 + "_") } ?? "other"
    }

    static func presentedKey(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.utf8.count <= 512 else { return nil }
        if header.hasPrefix("Bearer ") {
            let key = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
            return key.isEmpty ? nil : key
        }
        if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))),
            let text = String(data: data, encoding: .utf8)
        {
            let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return user.isEmpty ? nil : user
        }
        return nil
    }

    /// A masked form of a presented key for logs: its prefix and last four characters.
    static func hint(_ key: String) -> String {
        guard key.utf8.count > 12 else { return "****" }
        let prefix = key.split(separator: "_").prefix(2).joined(separator: "_")
        return "\(prefix.prefix(8))_****\(key.suffix(4))"
    }
}
