import Hummingbird
import KessaiCore
import Ledger
import Merchants
import Payments
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the PaymentIntent endpoints read their parameters: each check with its limits and Stripe's codes.
extension PaymentIntentsController {
    static func intentID(_ context: KessaiRequestContext) throws -> PaymentIntentID {
        let raw = try context.parameters.require("id")
        guard let id = PaymentIntentID(parsing: raw) else { throw APIError.notFound("payment_intent", id: String(raw.prefix(64))) }
        return id
    }

    static func checkClientSecret(_ presented: String?, _ intent: PaymentIntent) throws {
        guard let presented else { throw APIError.missing("client_secret") }
        guard ConstantTime.equal(presented, intent.clientSecret) else {
            throw APIError.invalid(
                "client_secret", "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
                code: "payment_intent_invalid_parameter")
        }
    }

    static func currency(_ parameters: Parameters) throws -> Currency {
        let code = try parameters.requiredString("currency")
        guard let currency = Currency(code: code) else {
            throw APIError.invalid(
                "currency", "Invalid currency: \(code.prefix(10)). Kessai supports: \(Currency.all.map(\.code).joined(separator: ", ")).",
                code: "parameter_invalid")
        }
        return currency
    }

    /// Stripe's minimum charge (50 of the unit: ¥50, $0.50, €0.50) and the currency's maximum.
    /// `amount` as a whole number; a negative one is refused with the range it must be in.
    static func amount(_ parameters: Parameters, currency: Currency) throws -> Int? {
        if let text = try parameters.string("amount"), text.hasPrefix("-") {
            throw APIError.invalid(
                "amount",
                "Amount must be a whole number from 50 to \(currency.maximumAmount) \(currency.code), in the currency's smallest unit; negative amounts are not accepted.",
                code: "parameter_invalid_integer")
        }
        return try parameters.integer("amount", maximumDigits: 12)
    }

    static func checkAmount(_ amount: Int64, currency: Currency, checkMaximum: Bool = true) throws -> Int64 {
        let minimum: Int64 = 50
        guard amount >= minimum else {
            throw APIError.invalid("amount", "Amount must be at least \(minimum) \(currency.code).", code: "amount_too_small")
        }
        if checkMaximum, amount > currency.maximumAmount {
            throw APIError.invalid("amount", "Amount must be no more than \(currency.maximumAmount) \(currency.code).", code: "amount_too_large")
        }
        return amount
    }

    static func captureMethod(_ parameters: Parameters) throws -> PaymentIntent.CaptureMethod? {
        guard let text = try parameters.string("capture_method") else { return nil }
        guard let method = PaymentIntent.CaptureMethod(rawValue: text) else {
            throw APIError.invalid("capture_method", "Invalid capture_method: must be one of automatic, automatic_async, manual.")
        }
        return method
    }

    static func paymentMethod(_ parameters: Parameters) throws -> PaymentMethodID? {
        guard let text = try parameters.string("payment_method"), !text.isEmpty else { return nil }
        guard let id = PaymentMethodID(parsing: text) else {
            throw APIError.notFound("PaymentMethod", id: String(text.prefix(64)), param: "payment_method")
        }
        return id
    }

    static func paymentMethodTypes(_ parameters: Parameters) throws -> [String]? {
        guard let types = try parameters.object("payment_method_types") else { return nil }
        var result: [String] = []
        for (name, value) in types.entries {
            guard case .string(let type) = value else { throw APIError.invalid(types.name(name), "payment_method_types must be a list of strings.") }
            guard type == "card" || CashPayments.methods.contains(type) else {
                throw APIError.invalid(
                    "payment_method_types", "The payment method type \"\(type.prefix(40))\" is invalid. Kessai accepts: card, konbini, payeasy, emoney.",
                    code: "payment_intent_invalid_parameter")
            }
            guard !result.contains(type) else {
                throw APIError.invalid(types.name(name), "payment_method_types lists \(type) more than once.", code: "payment_intent_invalid_parameter")
            }
            result.append(type)
        }
        guard !result.isEmpty else { throw APIError.invalid("payment_method_types", "payment_method_types must not be empty.") }
        if result.count > 1, result.contains(where: { CashPayments.methods.contains($0) }) {
            throw APIError.invalid(
                "payment_method_types", "Give konbini, payeasy or emoney alone: one PaymentIntent per payment method type.",
                code: "payment_intent_invalid_parameter")
        }
        return result
    }

    static func automaticPaymentMethods(_ parameters: Parameters) throws {
        guard let automatic = try parameters.object("automatic_payment_methods") else { return }
        try automatic.allowOnly(["enabled", "allow_redirects"])
        _ = try boolean(automatic, "enabled")
        if let value = try automatic.string("allow_redirects"), !["always", "never"].contains(value) {
            throw APIError.invalid(automatic.name("allow_redirects"), "allow_redirects must be always or never.")
        }
    }

    static func paymentMethodOptions(_ parameters: Parameters) throws {
        guard let options = try parameters.object("payment_method_options") else { return }
        try options.allowOnly(["card"])
        if let card = try options.object("card") {
            try card.allowOnly(["request_three_d_secure"])
            if let value = try card.string("request_three_d_secure"), !["automatic", "any", "challenge"].contains(value) {
                throw APIError.invalid(card.name("request_three_d_secure"), "request_three_d_secure must be automatic, any or challenge.")
            }
        }
    }

    static func boolean(_ parameters: Parameters, _ key: String) throws -> Bool? {
        guard let text = try parameters.string(key) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw APIError.invalid(parameters.name(key), "Invalid boolean: \(parameters.name(key)) must be true or false.")
        }
    }

    static func email(_ parameters: Parameters, _ key: String) throws -> String? {
        guard let email = try BillingDetailsInput.text(parameters, key, maximum: 254) else { return nil }
        guard BillingDetailsInput.isPlausibleEmail(email) else {
            throw APIError.invalid(
                parameters.name(key), "Invalid email address: \(parameters.name(key)) must look like name@example.com.", code: "email_invalid")
        }
        return email
    }

    static func returnURL(_ parameters: Parameters) throws -> String? { try url(parameters, "return_url") }

    /// Printable ASCII that card networks print after the merchant's descriptor: up to 22
    /// characters, at least one letter, none of `< > \ ' " *` (Stripe's rule, which Japanese
    /// acquirers' Latin descriptors share). Empty means none.
    static let statementDescriptorCharacters = "[\\x20-\\x21\\x23-\\x26\\x28-\\x29\\x2B-\\x3B\\x3D\\x3F-\\x5B\\x5D-\\x7E]"
    static let statementDescriptorPattern = "^(\(statementDescriptorCharacters)*[A-Za-z]\(statementDescriptorCharacters)*)?$"

    static func statementDescriptorSuffix(_ parameters: Parameters) throws -> String? {
        guard let text = try parameters.string("statement_descriptor_suffix"), !text.isEmpty else { return nil }
        let forbidden: Set<Unicode.Scalar> = ["<", ">", "\\", "'", "\"", "*"]
        guard text.unicodeScalars.count <= 22, text.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) && !forbidden.contains($0) }),
            text.unicodeScalars.contains(where: { ("A"..."Z").contains($0) || ("a"..."z").contains($0) })
        else {
            throw APIError.invalid(
                "statement_descriptor_suffix",
                "statement_descriptor_suffix must be 1 to 22 printable ASCII characters with at least one letter, and none of < > \\ ' \" *.")
        }
        return text
    }

    /// An absolute http or https URL parameter (``URLRule``), up to 2048 bytes.
    static func url(_ parameters: Parameters, _ key: String) throws -> String? {
        guard let text = try parameters.string(key), !text.isEmpty else { return nil }
        guard URLRule.accepts(text), let url = URL(string: text), url.host != nil else {
            throw APIError.invalid(parameters.name(key), "\(parameters.name(key)) must be an absolute http or https URL.", code: "url_invalid")
        }
        return text
    }
}

/// `limit`, `starting_after` and `ending_before`, as Stripe's list endpoints take them.
enum ListParameters {
    static func parse<Tag>(_ query: Parameters, _ type: Identifier<Tag>.Type) throws -> (Int, Identifier<Tag>?, Identifier<Tag>?) {
        let limit = try query.integer("limit", maximumDigits: 3) ?? 10
        guard (1...100).contains(limit) else { throw APIError.invalid("limit", "limit must be between 1 and 100.") }
        func cursor(_ key: String) throws -> Identifier<Tag>? {
            guard let text = try query.string(key), !text.isEmpty else { return nil }
            guard let id = Identifier<Tag>(parsing: text) else { throw APIError.invalid(key, "Invalid \(key): \(text.prefix(64)) is not an id of this list.") }
            return id
        }
        let after = try cursor("starting_after")
        let before = try cursor("ending_before")
        if after != nil && before != nil { throw APIError.invalid("ending_before", "Pass at most one of starting_after and ending_before.") }
        return (limit, after, before)
    }

    /// `created[gt]`, `created[gte]`, `created[lt]`, `created[lte]`: Unix seconds.
    static func created(_ query: Parameters) throws -> CreatedRange {
        guard let bounds = try query.object("created") else {
            if query.has("created") { throw APIError.invalid("created", "created takes bounds: created[gt], created[gte], created[lt], created[lte].") }
            return CreatedRange()
        }
        try bounds.allowOnly(["gt", "gte", "lt", "lte"])
        func bound(_ key: String) throws -> Int64? {
            guard let value = try bounds.integer(key, maximumDigits: 11) else { return nil }
            guard value <= 99_999_999_999 else { throw APIError.invalid(bounds.name(key), "\(bounds.name(key)) must be Unix seconds.") }
            return Int64(value)
        }
        return CreatedRange(greaterThan: try bound("gt"), greaterThanOrEqual: try bound("gte"), lessThan: try bound("lt"), lessThanOrEqual: try bound("lte"))
    }
}

extension Parameters {
    /// Whether a parameter was sent at all (even empty).
    func has(_ key: String) -> Bool { (try? string(key)) != nil || (try? object(key)) != nil }
}
