/// What a payment flow refuses, in the domain's words. Nothing here knows HTTP: the merchant API
/// maps each case to Stripe's error shape and a status in one place (`HTTP/ErrorMapping.swift`),
/// and the CLI prints ``message``.
public enum PaymentsError: Error, Sendable, Equatable {
    /// No such object for this merchant; another merchant's object is refused the same way.
    case notFound(_ object: String, id: String, param: String = "id")
    /// A value the flow needs was not given.
    case missing(_ param: String)
    /// A value was given but cannot be used; `code` is Stripe's (`parameter_invalid` and kin).
    case invalid(_ param: String, _ message: String, code: String = "parameter_invalid")
    /// The object's state does not allow this; `code` is Stripe's (`payment_intent_unexpected_state`,
    /// `charge_already_refunded` …).
    case unexpectedState(_ code: String, _ message: String, param: String? = nil)
    /// Another request holds the intent in `processing`: retrying later may succeed.
    case busy(_ message: String)
    /// The acquirer refused a capture.
    case captureRefused(code: String, message: String)

    /// The explanation, for a person.
    public var message: String {
        switch self {
        case .notFound(let object, let id, _): "No such \(object): '\(id)'"
        case .missing(let param): "Missing required param: \(param)."
        case .invalid(_, let message, _), .unexpectedState(_, let message, _), .busy(let message): message
        case .captureRefused(_, let message): "The capture was refused: \(message)"
        }
    }
}
