public import KessaiCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

/// A hosted checkout session, in Stripe's Checkout Session shape (`mode=payment` only). Each
/// session owns one PaymentIntent for its total; the buyer pays it on Kessai's page at `url`.
public struct CheckoutSession: Sendable {
    public struct LineItem: Codable, Sendable {
        public let name: String
        public let unitAmount: Int64
        public let quantity: Int64
        public var amount: Int64 { unitAmount * quantity }

        public init(name: String, unitAmount: Int64, quantity: Int64) {
            self.name = name
            self.unitAmount = unitAmount
            self.quantity = quantity
        }
    }

    public let id: CheckoutSessionID
    public let merchant: MerchantID
    public let livemode: Bool
    public let paymentIntent: PaymentIntentID
    public let storedStatus: String
    public let amountTotal: Int64
    public let currency: Currency
    public let lineItems: [LineItem]
    public let successURL: String
    public let cancelURL: String?
    public let locale: String?
    public let clientReferenceID: String?
    public let customerEmail: String?
    public let metadata: [String: String]
    public let created: Int64
    public let expiresAt: Int64
    public let completedAt: Int64?

    /// `open`, `complete`, or `expired` (an open session past `expires_at` is expired).
    public func status(now: Int64) -> String {
        storedStatus == "open" && now >= expiresAt ? "expired" : storedStatus
    }

    /// `success_url` with Stripe's `{CHECKOUT_SESSION_ID}` template filled in.
    public var resolvedSuccessURL: String { successURL.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id.rawValue) }
}
