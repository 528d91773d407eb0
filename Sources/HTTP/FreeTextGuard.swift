import KessaiCore

/// A request refused because a card number stood where none belongs. It names the parameter,
/// never the value; nothing of the request has been stored when it is thrown.
struct CardNumberInFreeText: Error, Sendable {
    /// The parameter's name (only its first segment when the name itself held the number).
    let parameter: String

    var apiError: APIError {
        APIError(
            kind: .invalidRequest, code: "card_number_in_free_text",
            message:
                "\(parameter) looks like it holds a card number. Card numbers are accepted only as card[number] from the buyer's browser with your publishable key; nothing was stored. Remove the number and try again.",
            param: parameter, status: 400)
    }
}

/// Refuses card numbers in every parameter of a request but the ones that are meant to carry one.
enum FreeTextGuard {
    /// Checks every name and value of `parameters`.
    /// - Parameter cardFields: full parameter names that may carry a card number (`card[number]`).
    /// - Throws: ``CardNumberInFreeText`` naming the first offending parameter.
    static func check(_ parameters: [String: FormValue], cardFields: Set<String> = []) throws(CardNumberInFreeText) {
        for (key, value) in parameters {
            try check(value, name: key, top: key, cardFields: cardFields)
        }
    }

    /// Parses a form, refusing as ``CardNumberInFreeText`` any parse error whose message or
    /// parameter would repeat a card number written as a parameter name (a name over the length
    /// limit, or sent twice, is named in the error).
    static func parsing(_ parse: () throws(APIError) -> [String: FormValue]) throws -> [String: FormValue] {
        do {
            return try parse()
        } catch {
            if CardNumberScan.containsCardNumber(error.message) || error.param.map(CardNumberScan.containsCardNumber) == true {
                throw CardNumberInFreeText(parameter: "parameter name")
            }
            throw error
        }
    }

    /// Checks one header value Kessai keeps (the idempotency key).
    /// A header Kessai keeps only as a keyed hash (`Idempotency-Key`) is refused when it *is* a
    /// card number (digits, spaces and dashes only), not when a digit run inside it happens to
    /// pass Luhn: the Stripe libraries send random UUIDs, whose hex groups can.
    static func check(header name: String, _ value: String) throws(CardNumberInFreeText) {
        let digitsOnly = !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isNumber || $0 == " " || $0 == "-") }
        if digitsOnly && CardNumberScan.containsCardNumber(value) { throw CardNumberInFreeText(parameter: name) }
    }

    private static func check(_ value: FormValue, name: String, top: String, cardFields: Set<String>) throws(CardNumberInFreeText) {
        if CardNumberScan.containsCardNumber(name) {
            throw CardNumberInFreeText(parameter: CardNumberScan.containsCardNumber(top) ? "parameter name" : top)
        }
        switch value {
        case .string(let text):
            if !cardFields.contains(name) && CardNumberScan.containsCardNumber(text) { throw CardNumberInFreeText(parameter: name) }
        case .object(let children):
            for (key, child) in children {
                try check(child, name: "\(name)[\(key)]", top: top, cardFields: cardFields)
            }
        }
    }
}
