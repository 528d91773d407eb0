import Crypto
public import KessaiCore
import Ledger
import SQLKit
import Storage
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

/// Security codes: held sealed in memory before the first authorization, never written.
extension Vault {
    /// Holds a security code, sealed in memory, until the first authorization or
    /// ``securityCodeLifetime``.
    /// - Returns: `true` when held.
    public func holdSecurityCode(_ code: SecurityCode, token: PaymentMethodID, merchant: MerchantID) async -> Bool {
        await securityCodes.hold(code, token: token, merchant: merchant, expiresAt: clock.now().addingTimeInterval(securityCodeLifetime))
    }

    /// Takes the security code for an authorization, destroying it in the same step. The taking
    /// is recorded in the ledger; if it cannot be recorded the code is not returned (it is
    /// destroyed all the same).
    public func consumeSecurityCode(token: PaymentMethodID, merchant: MerchantID, context: AccessContext) async throws -> SecurityCode? {
        guard let code = await securityCodes.consume(token: token, merchant: merchant, now: clock.now()) else { return nil }
        try await ledger.record(
            LedgerEntry(
                time: clock.now(), actor: context.actor, action: "vault.cvc_consumed",
                objects: ["token": token.rawValue, "merchant": merchant.rawValue], purpose: AccessPurpose.authorization.rawValue,
                requestID: context.requestID, source: context.source))
        return code
    }

    /// Destroys a held code without using it (a failed tokenization).
    public func discardSecurityCode(token: PaymentMethodID, merchant: MerchantID) async {
        _ = await securityCodes.consume(token: token, merchant: merchant, now: clock.now())
    }

    /// Destroys every security code past its time.
    /// - Returns: how many were destroyed.
    @discardableResult
    public func destroyExpiredSecurityCodes() async throws -> Int {
        let destroyed = await securityCodes.destroyExpired(now: clock.now())
        guard !destroyed.isEmpty else { return 0 }
        let now = clock.now()
        try await ledger.database.transaction { db in
            for token in destroyed {
                try await ledger.record(
                    LedgerEntry(
                        time: now, actor: .system("security_code_expiry"), action: "vault.cvc_destroyed", objects: ["token": token.rawValue], outcome: "expired"
                    ),
                    on: db)
            }
        }
        return destroyed.count
    }

    static func cardContext(_ token: PaymentMethodID, _ merchant: MerchantID) -> Data {
        Data("kessai-pan-v1|\(token.rawValue)|\(merchant.rawValue)".utf8)
    }

    static func keyContext(_ token: PaymentMethodID, _ merchant: MerchantID, _ version: Int) -> Data {
        Data("kessai-dek-v1|\(token.rawValue)|\(merchant.rawValue)|\(version)".utf8)
    }
}
