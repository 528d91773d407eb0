public import KessaiCore

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A buyer's billing details, as Stripe models them.
public struct BillingDetails: Sendable, Equatable, Codable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var address: Address?

    public init(name: String? = nil, email: String? = nil, phone: String? = nil, address: Address? = nil) {
        self.name = name
        self.email = email
        self.phone = phone
        self.address = address
    }

    /// A postal address.
    public struct Address: Sendable, Equatable, Codable {
        public var line1: String?
        public var line2: String?
        public var city: String?
        public var state: String?
        public var postalCode: String?
        public var country: String?

        public init(line1: String? = nil, line2: String? = nil, city: String? = nil, state: String? = nil, postalCode: String? = nil, country: String? = nil) {
            self.line1 = line1
            self.line2 = line2
            self.city = city
            self.state = state
            self.postalCode = postalCode
            self.country = country
        }

        enum CodingKeys: String, CodingKey {
            case line1, line2, city, state, country
            case postalCode = "postal_code"
        }
    }
}

/// The result of the security-code check, in Stripe's words.
public enum SecurityCodeCheck: String, Sendable, Equatable {
    /// Provided and held; not yet checked by an authorization.
    case unchecked
    /// Provided, but it could not be held.
    case unavailable
    case pass
    case fail
}

/// A tokenized card. Never holds the card number: only what may be shown.
public struct PaymentMethod: Sendable, Equatable {
    public let id: PaymentMethodID
    public let merchant: MerchantID
    public let card: Card
    public let billingDetails: BillingDetails
    public let metadata: [String: String]
    public let livemode: Bool
    public let created: Date

    /// What may be shown of a card.
    public struct Card: Sendable, Equatable {
        public let brand: CardBrand
        public let last4: String
        public let expMonth: Int
        public let expYear: Int
        public let fingerprint: String
        public let funding: String
        public let country: String?
        public let cvcCheck: SecurityCodeCheck?
    }
}

/// A validated request to tokenize a card.
public struct CardTokenization: Sendable {
    public let pan: PAN
    public let expiry: CardExpiry
    public let securityCode: SecurityCode?
    public let billingDetails: BillingDetails
    public let metadata: [String: String]

    public init(pan: PAN, expiry: CardExpiry, securityCode: SecurityCode?, billingDetails: BillingDetails, metadata: [String: String]) {
        self.pan = pan
        self.expiry = expiry
        self.securityCode = securityCode
        self.billingDetails = billingDetails
        self.metadata = metadata
    }
}
