public import Acquiring

/// What the buyer must do next for a cash or redirect payment, as the domain knows it. The
/// merchant API renders it as Stripe's `next_action` (`HTTP/PaymentDTOs.swift`); the voucher
/// page reads the numbers from it; storage keeps it as JSON (`NextAction+Storage.swift`).
public enum NextAction: Sendable, Equatable {
    /// Send the buyer to `url` (an e-money provider's page, a 3-D Secure challenge); they come
    /// back to `returnURL`.
    case redirect(url: String, returnURL: String?)
    /// Pay at a convenience store by `expiresAt` with each store's numbers; `voucherURL` is the
    /// printable slip.
    case konbini(expiresAt: Int64, voucherURL: String, stores: [String: CashInstructions.StoreNumbers])
    /// Pay at an ATM or in online banking by `expiresAt` with the Pay-easy numbers.
    case payeasy(expiresAt: Int64, instructionsURL: String, numbers: CashInstructions)

    /// The konbini stores Kessai shows, in the order it shows them.
    public static let konbiniStores = ["familymart", "lawson", "ministop", "seicomart"]
}

/// What the buyer of a cash payment must do to receive a refund: Kessai e-mailed them a link to
/// give their bank account, open until `expiresAt`.
public struct RefundNextAction: Sendable, Equatable, Codable {
    public var emailSentAt: Int64
    public var emailSentTo: String?
    public var expiresAt: Int64

    public init(emailSentAt: Int64, emailSentTo: String?, expiresAt: Int64) {
        self.emailSentAt = emailSentAt
        self.emailSentTo = emailSentTo
        self.expiresAt = expiresAt
    }
}
