public import Acquiring
public import KessaiCore

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A payment a merchant wants to collect, with Stripe's lifecycle:
///
///     requires_payment_method → requires_confirmation → (requires_action) → processing
///         → requires_capture (manual capture) → succeeded
///     any state before succeeded → canceled; a decline → requires_payment_method
public struct PaymentIntent: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case requiresPaymentMethod = "requires_payment_method"
        case requiresConfirmation = "requires_confirmation"
        case requiresAction = "requires_action"
        case processing
        case requiresCapture = "requires_capture"
        case succeeded
        case canceled
    }

    public enum CaptureMethod: String, Sendable, Codable {
        case automatic
        case automaticAsync = "automatic_async"
        case manual
    }

    public enum CancellationReason: String, Sendable, Codable, CaseIterable {
        case duplicate
        case fraudulent
        case requestedByCustomer = "requested_by_customer"
        case abandoned
        case failedInvoice = "failed_invoice"
        case voidInvoice = "void_invoice"
        case automatic
        case expired
    }

    public let id: PaymentIntentID
    public let merchant: MerchantID
    public var livemode: Bool
    public var amount: Int64
    public var currency: Currency
    /// Changed only through ``move(to:)``, which follows ``Status/transitions``.
    public private(set) var status: Status
    public var captureMethod: CaptureMethod
    public var paymentMethod: PaymentMethodID?
    public var paymentMethodTypes: [String]
    public var description: String?
    public var metadata: [String: String]
    public var receiptEmail: String?
    public var clientSecret: String
    public var amountCapturable: Int64
    public var amountReceived: Int64
    public var amountRefunded: Int64
    public var latestCharge: ChargeID?
    public var lastPaymentError: PaymentError?
    public var cancellationReason: CancellationReason?
    public var canceledAt: Date?
    public var returnURL: String?
    /// The 3-D Secure challenge waiting for the buyer, while `requires_action`.
    public var challengeID: String?
    /// How the buyer was authenticated for the current confirmation.
    public var authentication: AuthenticationResult?
    /// The acquirer attempt under way, while `processing`.
    public var attemptID: AttemptID?
    /// The idempotency key of the request that confirmed it, so a replay after a crash answers
    /// with the intent instead of an error.
    public var confirmedByKey: String?
    public let created: Date
    public var updated: Date
    /// For cash and redirect methods: what the buyer must do next.
    public var nextAction: NextAction? = nil
    /// Shown after the merchant's descriptor on the buyer's card statement (Latin, up to 22).
    public var statementDescriptorSuffix: String? = nil
    /// The exposure watch the card of the last confirmation fell under (``CardWatch``).
    public var watch: CardWatch? = nil

    /// Whether the capture happens with the authorization.
    public var capturesImmediately: Bool { captureMethod != .manual }

    /// Moves the intent to `next`, if the lifecycle allows it (``Status/transitions``).
    /// - Throws: ``IllegalTransition`` otherwise, and the intent is unchanged.
    public mutating func move(to next: Status) throws(IllegalTransition) {
        guard status.canMove(to: next) else { throw IllegalTransition(from: status, to: next) }
        status = next
    }

    /// An intent as it is created or read back (the status is taken as stored).
    init(
        id: PaymentIntentID, merchant: MerchantID, livemode: Bool, amount: Int64, currency: Currency, status: Status, captureMethod: CaptureMethod,
        paymentMethod: PaymentMethodID?, paymentMethodTypes: [String], description: String?, metadata: [String: String], receiptEmail: String?,
        clientSecret: String, amountCapturable: Int64, amountReceived: Int64, amountRefunded: Int64, latestCharge: ChargeID?,
        lastPaymentError: PaymentError?, cancellationReason: CancellationReason?, canceledAt: Date?, returnURL: String?, challengeID: String?,
        authentication: AuthenticationResult?, attemptID: AttemptID?, confirmedByKey: String?, created: Date, updated: Date, nextAction: NextAction? = nil,
        statementDescriptorSuffix: String? = nil, watch: CardWatch? = nil
    ) {
        self.id = id
        self.merchant = merchant
        self.livemode = livemode
        self.amount = amount
        self.currency = currency
        self.status = status
        self.captureMethod = captureMethod
        self.paymentMethod = paymentMethod
        self.paymentMethodTypes = paymentMethodTypes
        self.description = description
        self.metadata = metadata
        self.receiptEmail = receiptEmail
        self.clientSecret = clientSecret
        self.amountCapturable = amountCapturable
        self.amountReceived = amountReceived
        self.amountRefunded = amountRefunded
        self.latestCharge = latestCharge
        self.lastPaymentError = lastPaymentError
        self.cancellationReason = cancellationReason
        self.canceledAt = canceledAt
        self.returnURL = returnURL
        self.challengeID = challengeID
        self.authentication = authentication
        self.attemptID = attemptID
        self.confirmedByKey = confirmedByKey
        self.created = created
        self.updated = updated
        self.nextAction = nextAction
        self.statementDescriptorSuffix = statementDescriptorSuffix
        self.watch = watch
    }
}

/// Why the last confirmation failed, as Stripe's `last_payment_error`.
public struct PaymentError: Sendable, Equatable, Codable {
    public var type: String
    public var code: String
    public var declineCode: String?
    public var message: String
    public var paymentMethod: String?

    public init(type: String, code: String, declineCode: String?, message: String, paymentMethod: String?) {
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.paymentMethod = paymentMethod
    }

    enum CodingKeys: String, CodingKey {
        case type, code, message
        case declineCode = "decline_code"
        case paymentMethod = "payment_method"
    }
}

/// One authorization of a card for an intent, Stripe's `charge`.
public struct Charge: Sendable, Equatable {
    public let id: ChargeID
    public let merchant: MerchantID
    public let paymentIntent: PaymentIntentID
    public var amount: Int64
    public var amountCaptured: Int64
    public var amountRefunded: Int64
    public var currency: Currency
    public var status: String
    public var captured: Bool
    public var paymentMethod: PaymentMethodID
    public var acquirer: String
    public var acquirerReference: String?
    public var cvcCheck: String?
    public var authentication: String?
    public var failureCode: String?
    public var declineCode: String?
    public var failureMessage: String?
    public let created: Date
    /// The exposure watch its card fell under (``CardWatch``).
    public var watch: CardWatch? = nil
}

/// Money returned to the buyer, Stripe's `refund`.
public struct Refund: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending
        /// A cash refund waiting for the buyer's bank details and the operator's payout.
        case requiresAction = "requires_action"
        case succeeded
        case failed
        case canceled
    }

    public enum Reason: String, Sendable, CaseIterable {
        case duplicate
        case fraudulent
        case requestedByCustomer = "requested_by_customer"
    }

    public let id: RefundID
    public let merchant: MerchantID
    public let paymentIntent: PaymentIntentID
    public let charge: ChargeID
    public let amount: Int64
    public let currency: Currency
    public var status: Status
    public let reason: Reason?
    public let metadata: [String: String]
    public var failureReason: String?
    public let created: Date
    /// For cash refunds: what the buyer must do to receive the money.
    public var nextAction: RefundNextAction? = nil
}
