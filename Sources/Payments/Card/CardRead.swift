import KessaiCore
import SQLKit
import Vault

extension CardPayments {
    /// The one way a card is read for an authorization, by confirm and by the 3-D Secure answer
    /// alike: on the caller's transaction, the payment method's expiry and the card's ciphertext
    /// in one statement, with the `vault.decrypt` ledger entry kept by `cards` (written with the
    /// caller's writes, or before its commit). The card is decrypted only after that commit.
    /// - Parameters:
    ///   - method: the payment method to charge.
    ///   - merchant: its merchant; another merchant's method is not found.
    ///   - cards: the reader of the caller's `Vault.revealing` transaction.
    ///   - context: who asks, for the ledger.
    /// - Returns: the card's expiry month and year, and the card to open after the commit.
    /// - Throws: ``PaymentsError/notFound(_:id:param:)`` when there is no such payment method for this merchant.
    static func readForAuthorization(
        _ method: PaymentMethodID, merchant: MerchantID, cards: Vault.CardReader, context: AccessContext
    ) async throws -> (expMonth: Int, expYear: Int, card: Vault.ReadCard) {
        guard
            let (row, card) = try await cards.read(
                joined: CardStatements.ExpiryAndCard.self, token: method, merchant: merchant, purpose: .authorization, context: context)
        else { throw PaymentsError.notFound("PaymentMethod", id: method.rawValue, param: "payment_method") }
        guard let card else { throw VaultError.notFound }
        return (Int(try row.integer(0)), Int(try row.integer(1)), card)
    }
}
