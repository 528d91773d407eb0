public import KessaiCore

/// How Kessai talks to an acquirer (the bank that settles card payments for a merchant). Each
/// connector lives in its own folder under `Sources/Acquiring/`; the test acquirer is one.
///
/// Every operation carries an `attempt`: Kessai records the attempt before it calls, and the
/// acquirer treats a repeated attempt as the same operation (it answers what it answered the
/// first time and does not charge again). After a crash, ``lookup(attempt:)`` tells Kessai what
/// the acquirer did with an attempt whose answer never reached the database.
public protocol AcquirerConnector: Sendable {
    /// A short name, stored with each charge (`test`).
    var name: String { get }

    /// Whether the card's issuer wants a 3-D Secure challenge before it authorizes (EMV 3DS
    /// through the directory server), or the authentication can be frictionless.
    func authentication(for card: CardDetails, amount: Money) async throws -> AuthenticationDecision

    /// Authorizes an amount, and captures it in the same step when `capture` is true.
    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationOutcome

    /// Captures up to the authorized amount; the rest is released.
    func capture(reference: String, amount: Money, attempt: AttemptID) async throws -> OperationOutcome

    /// Releases an authorization that was not captured.
    func void(reference: String, attempt: AttemptID) async throws -> OperationOutcome

    /// Returns captured money to the card, in part or whole.
    func refund(reference: String, amount: Money, attempt: AttemptID) async throws -> OperationOutcome

    /// What the acquirer recorded for an attempt, or `nil` when the attempt never reached it.
    func lookup(attempt: AttemptID) async throws -> RecordedOperation?
}

/// The card as the acquirer needs it, for the length of one call. Built from the vault's
/// ``PAN`` and never stored.
public struct CardDetails: Sendable, CustomStringConvertible {
    public let pan: PAN
    public let expMonth: Int
    public let expYear: Int
    public let securityCode: SecurityCode?

    public init(pan: PAN, expMonth: Int, expYear: Int, securityCode: SecurityCode?) {
        self.pan = pan
        self.expMonth = expMonth
        self.expYear = expYear
        self.securityCode = securityCode
    }

    public var description: String { "CardDetails(\(pan), \(expMonth)/\(expYear), cvc: \(securityCode == nil ? "none" : "•••"))" }
}

/// The issuer's answer to "must the buyer be challenged?".
public enum AuthenticationDecision: Sendable, Equatable {
    /// Authenticated without the buyer doing anything.
    case frictionless
    /// The buyer must pass a challenge first.
    case challenge
}

/// The result of 3-D Secure for an authorization.
public enum AuthenticationResult: String, Sendable {
    /// Frictionless: the issuer authenticated without a challenge.
    case frictionless
    /// The buyer passed a challenge.
    case challenged
}

public struct AuthorizationRequest: Sendable {
    public let attempt: AttemptID
    public let merchant: MerchantID
    public let amount: Money
    public let card: CardDetails
    public let authentication: AuthenticationResult?
    public let capture: Bool

    public init(attempt: AttemptID, merchant: MerchantID, amount: Money, card: CardDetails, authentication: AuthenticationResult?, capture: Bool) {
        self.attempt = attempt
        self.merchant = merchant
        self.amount = amount
        self.card = card
        self.authentication = authentication
        self.capture = capture
    }
}

/// Why an issuer said no, in Stripe's codes: `code` is the error code (`card_declined`,
/// `expired_card`, `incorrect_cvc`, `processing_error`), `declineCode` the issuer's reason.
public struct Decline: Sendable, Equatable, Codable {
    public let code: String
    public let declineCode: String
    public let message: String

    public init(code: String, declineCode: String, message: String) {
        self.code = code
        self.declineCode = declineCode
        self.message = message
    }
}

/// What the security-code check said.
public enum CVCResult: String, Sendable, Codable {
    case pass
    case fail
    case unavailable
    case unchecked
}

public enum AuthorizationOutcome: Sendable, Equatable {
    case approved(reference: String, captured: Bool, cvc: CVCResult)
    case declined(Decline)
}

public enum OperationOutcome: Sendable, Equatable {
    case succeeded(reference: String)
    case failed(Decline)
}

/// What the acquirer remembers of one attempt.
public struct RecordedOperation: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case authorize
        case sale
        case capture
        case void
        case refund
    }

    public let kind: Kind
    public let approved: Bool
    public let reference: String?
    public let amount: Int64
    public let decline: Decline?

    public init(kind: Kind, approved: Bool, reference: String?, amount: Int64, decline: Decline?) {
        self.kind = kind
        self.approved = approved
        self.reference = reference
        self.amount = amount
        self.decline = decline
    }
}

/// The acquirer could not be reached or did not answer; the outcome is unknown until
/// ``AcquirerConnector/lookup(attempt:)`` says otherwise.
public struct AcquirerUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "acquirer unavailable: \(reason)" }
}
