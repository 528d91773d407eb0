/// An error in the shape of Stripe's error object: `{"error":{"type","code","message","param"}}`.
/// Components throw these for anything the caller did wrong; the HTTP layer maps them to a status
/// in one place.
public struct APIError: Error, Sendable, Equatable {
    /// Stripe's error types.
    public enum Kind: String, Sendable {
        case invalidRequest = "invalid_request_error"
        case card = "card_error"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case idempotency = "idempotency_error"
        case rateLimit = "rate_limit_error"
        case api = "api_error"
    }

    public var kind: Kind
    public var code: String?
    public var message: String
    public var param: String?
    /// The HTTP status to answer with.
    public var status: Int
    /// The issuer's reason for a decline (`insufficient_funds`, `lost_card` …), on card errors.
    public var declineCode: String?
    /// Objects the error concerns, as Stripe attaches them (`payment_intent`, `payment_method`).
    public var attachments: [(String, JSONValue)] = []

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.kind == rhs.kind && lhs.code == rhs.code && lhs.message == rhs.message && lhs.param == rhs.param && lhs.status == rhs.status
            && lhs.declineCode == rhs.declineCode
    }

    public init(kind: Kind, code: String?, message: String, param: String? = nil, status: Int) {
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
        self.status = status
    }

    /// A required parameter is absent.
    public static func missing(_ param: String) -> APIError {
        APIError(kind: .invalidRequest, code: "parameter_missing", message: "Missing required param: \(param).", param: param, status: 400)
    }

    /// A parameter is present but not acceptable.
    public static func invalid(_ param: String, _ message: String, code: String = "parameter_invalid") -> APIError {
        APIError(kind: .invalidRequest, code: code, message: message, param: param, status: 400)
    }

    /// A parameter that must be an integer is not one.
    public static func notInteger(_ param: String) -> APIError {
        APIError(
            kind: .invalidRequest, code: "parameter_invalid_integer", message: "Invalid integer: \(param) must be a whole number.", param: param, status: 400)
    }

    /// A parameter this endpoint does not know.
    public static func unknown(_ param: String) -> APIError {
        APIError(kind: .invalidRequest, code: "parameter_unknown", message: "Received unknown parameter: \(param).", param: param, status: 400)
    }

    /// An object that does not exist or belongs to someone else; both answer the same.
    /// The object is not in a state that allows this (Stripe's `payment_intent_unexpected_state`
    /// and kin).
    public static func unexpectedState(_ code: String, _ message: String, param: String? = nil) -> APIError {
        APIError(kind: .invalidRequest, code: code, message: message, param: param, status: 400)
    }

    public static func notFound(_ what: String, id: String, param: String = "id") -> APIError {
        APIError(kind: .invalidRequest, code: "resource_missing", message: "No such \(what): '\(id)'", param: param, status: 404)
    }

    /// Card input refused, in Stripe's codes.
    public static func card(_ error: CardInputError) -> APIError {
        switch error {
        case .incorrectNumber:
            APIError(kind: .card, code: "incorrect_number", message: "Your card number is incorrect.", param: "card[number]", status: 402)
        case .invalidExpiryMonth:
            APIError(kind: .card, code: "invalid_expiry_month", message: "Your card's expiration month is invalid.", param: "card[exp_month]", status: 402)
        case .invalidExpiryYear:
            APIError(kind: .card, code: "invalid_expiry_year", message: "Your card's expiration year is invalid.", param: "card[exp_year]", status: 402)
        case .expiredCard:
            APIError(kind: .card, code: "expired_card", message: "Your card has expired.", param: "card[exp_year]", status: 402)
        case .invalidCVC:
            APIError(kind: .card, code: "invalid_cvc", message: "Your card's security code is invalid.", param: "card[cvc]", status: 402)
        }
    }
}
