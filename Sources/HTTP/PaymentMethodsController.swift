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

/// `POST /v1/payment_methods` (publishable key) and `GET /v1/payment_methods/{id}` (secret key).
struct PaymentMethodsController: Sendable {
    let store: PaymentMethodStore
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let clock: any KessaiClock
    /// Konbini, Pay-easy and e-money methods are read from beside their intents.
    let cash: CashPayments

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/payment_methods", use: create)
        router.get("/v1/payment_methods/:id", use: retrieve)
    }

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .publishable)
        let (parameters, body) = try await reader.bodyAndBytes(request, cardFields: ["card[number]"])
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            let tokenization = try CreateRequest.parse(parameters, now: clock.now())
            let method = try await store.tokenize(
                tokenization, merchant: key.merchant, livemode: key.livemode,
                context: AccessContext(actor: LedgerActor(.merchantKey, key.id.rawValue), requestID: context.requestID.rawValue, source: context.remoteAddress))
            context.logger.info(
                "tokenized", metadata: ["payment_method": "\(method.id)", "merchant": "\(key.merchant)", "brand": "\(method.card.brand.rawValue)"])
            return PaymentMethodDTO(method).json
        }
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        try reader.query(request).allowOnly(["expand"])
        let raw = try context.parameters.require("id")
        guard let id = PaymentMethodID(parsing: raw) else { throw APIError.notFound("PaymentMethod", id: String(raw.prefix(64))) }
        if let method = try await store.retrieve(id, merchant: key.merchant) { return JSONResponse.make(PaymentMethodDTO(method).json) }
        // A konbini, Pay-easy or e-money method lives beside its intent.
        guard let (record, created, livemode) = try await cash.paymentMethod(id.rawValue, merchant: key.merchant) else {
            throw APIError.notFound("PaymentMethod", id: String(raw.prefix(64)))
        }
        return JSONResponse.make(
            .object([
                ("id", .string(id.rawValue)), ("object", "payment_method"), ("allow_redisplay", "unspecified"),
                ("billing_details", PaymentMethodDTO.billing(record.details.billing)), ("created", .int(created)), ("customer", nil),
                ("livemode", .bool(livemode)), ("metadata", .object([])), (record.method, .object([])), ("type", .string(record.method)),
            ]))
    }

    /// The wire form of a tokenization request, checked field by field in the order Stripe checks.
    enum CreateRequest {
        static func parse(_ parameters: Parameters, now: Date) throws -> CardTokenization {
            try parameters.allowOnly(["type", "card", "billing_details", "metadata", "expand", "allow_redisplay"])
            let type = try parameters.requiredString("type")
            guard type == "card" else {
                throw APIError.invalid("type", "Invalid payment method type: must be 'card'.", code: "parameter_invalid")
            }
            if let redisplay = try parameters.string("allow_redisplay"), !["always", "limited", "unspecified"].contains(redisplay) {
                throw APIError.invalid("allow_redisplay", "allow_redisplay must be always, limited or unspecified.")
            }
            guard let card = try parameters.object("card"), !card.isEmpty else { throw APIError.missing("card") }
            try card.allowOnly(["number", "exp_month", "exp_year", "cvc"])
            let pan: PAN
            do { pan = try PAN(try card.requiredString("number")) } catch let error as CardInputError { throw APIError.card(error) }
            guard let month = try card.integer("exp_month", maximumDigits: 2) else { throw APIError.missing("card[exp_month]") }
            guard let year = try card.integer("exp_year", maximumDigits: 4) else { throw APIError.missing("card[exp_year]") }
            let expiry: CardExpiry
            do { expiry = try CardExpiry(month: month, year: year, now: now) } catch { throw APIError.card(error) }
            var code: SecurityCode? = nil
            if let cvc = try card.string("cvc") {
                do { code = try SecurityCode(cvc, brand: pan.brand) } catch { throw APIError.card(error) }
            }
            return CardTokenization(
                pan: pan, expiry: expiry, securityCode: code,
                billingDetails: try BillingDetailsInput.parse(parameters.object("billing_details")),
                metadata: try MetadataInput.parse(parameters.object("metadata"))
            )
        }
    }
}

/// `billing_details[…]` with a limit and a character set for each field.
enum BillingDetailsInput {
    static func parse(_ parameters: Parameters?) throws -> BillingDetails {
        guard let parameters else { return BillingDetails() }
        try parameters.allowOnly(["name", "email", "phone", "address"])
        var details = BillingDetails()
        details.name = try text(parameters, "name", maximum: 200)
        if let email = try text(parameters, "email", maximum: 254) {
            guard isPlausibleEmail(email) else {
                throw APIError.invalid(
                    parameters.name("email"), "Invalid email address: \(parameters.name("email")) must look like name@example.com.", code: "email_invalid")
            }
            details.email = email
        }
        if let phone = try text(parameters, "phone", maximum: 32) {
            guard phone.unicodeScalars.allSatisfy({ "0123456789+-() ".unicodeScalars.contains($0) }) else {
                throw APIError.invalid(parameters.name("phone"), "Invalid phone number: use digits, spaces, +, - and parentheses only.")
            }
            details.phone = phone
        }
        if let address = try parameters.object("address") {
            try address.allowOnly(["line1", "line2", "city", "state", "postal_code", "country"])
            var parsed = BillingDetails.Address()
            parsed.line1 = try text(address, "line1", maximum: 200)
            parsed.line2 = try text(address, "line2", maximum: 200)
            parsed.city = try text(address, "city", maximum: 100)
            parsed.state = try text(address, "state", maximum: 100)
            if let postal = try text(address, "postal_code", maximum: 20) {
                guard postal.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == " ") })
                else {
                    throw APIError.invalid(address.name("postal_code"), "Invalid postal code.")
                }
                parsed.postalCode = postal
            }
            if let country = try text(address, "country", maximum: 2) {
                guard country.utf8.count == 2, country.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("a"..."z").contains($0) }) else {
                    throw APIError.invalid(address.name("country"), "Invalid country: use a two-letter ISO 3166-1 code.")
                }
                parsed.country = country.uppercased()
            }
            details.address = parsed
        }
        return details
    }

    /// A free-text field: printable characters only, at most `maximum` characters; empty means unset.
    static func text(_ parameters: Parameters, _ key: String, maximum: Int) throws -> String? {
        guard let value = try parameters.string(key), !value.isEmpty else { return nil }
        guard value.unicodeScalars.count <= maximum else {
            throw APIError.invalid(parameters.name(key), "\(parameters.name(key)) is longer than \(maximum) characters.")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.invalid(parameters.name(key), "\(parameters.name(key)) contains control characters.")
        }
        return value
    }

    static func isPlausibleEmail(_ email: String) -> Bool {
        // By Unicode scalars, as the OpenAPI pattern counts: a "." followed by a combining mark or
        // an emoji modifier is still a dot.
        let parts = Array(email.unicodeScalars).split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), parts[1].first != ".", parts[1].last != "." else { return false }
        return !email.unicodeScalars.contains { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\"" }
    }
}

/// `metadata[…]`, with Stripe's limits: 50 keys, keys up to 40 characters without brackets,
/// values up to 500 characters; an empty value unsets a key.
enum MetadataInput {
    static func parse(_ parameters: Parameters?) throws -> [String: String] {
        guard let parameters else { return [:] }
        var metadata: [String: String] = [:]
        for (key, value) in parameters.entries {
            guard case .string(let text) = value else {
                throw APIError.invalid(parameters.name(key), "Metadata values must be strings.")
            }
            guard key.unicodeScalars.count <= 40, !key.contains("["), !key.contains("]") else {
                throw APIError.invalid(parameters.name(key), "Metadata keys are at most 40 characters and cannot contain brackets.")
            }
            guard text.unicodeScalars.count <= 500 else {
                throw APIError.invalid(parameters.name(key), "Metadata values are at most 500 characters.")
            }
            if !text.isEmpty { metadata[key] = text }
        }
        guard metadata.count <= 50 else { throw APIError.invalid("metadata", "At most 50 metadata keys are allowed.") }
        return metadata
    }
}

/// The wire form of a payment method, shaped as Stripe's `payment_method` object.
struct PaymentMethodDTO {
    let method: PaymentMethod
    init(_ method: PaymentMethod) { self.method = method }

    /// Stripe's `billing_details`, every member present.
    static func billing(_ billing: BillingDetails) -> JSONValue {
        let address = billing.address ?? BillingDetails.Address()
        return .object([
            (
                "address",
                .object([
                    ("city", .optional(address.city)), ("country", .optional(address.country)), ("line1", .optional(address.line1)),
                    ("line2", .optional(address.line2)), ("postal_code", .optional(address.postalCode)), ("state", .optional(address.state)),
                ])
            ),
            ("email", .optional(billing.email)), ("name", .optional(billing.name)), ("phone", .optional(billing.phone)),
        ])
    }

    var json: JSONValue {
        let card = method.card
        return .object([
            ("id", .string(method.id.rawValue)),
            ("object", "payment_method"),
            ("allow_redisplay", "unspecified"),
            ("billing_details", Self.billing(method.billingDetails)),
            (
                "card",
                .object([
                    ("brand", .string(card.brand.rawValue)),
                    (
                        "checks",
                        .object([
                            ("address_line1_check", nil),
                            ("address_postal_code_check", nil),
                            ("cvc_check", .optional(card.cvcCheck?.rawValue)),
                        ])
                    ),
                    ("country", .optional(card.country)),
                    ("display_brand", .string(card.brand.rawValue)),
                    ("exp_month", .int(Int64(card.expMonth))),
                    ("exp_year", .int(Int64(card.expYear))),
                    ("fingerprint", .string(card.fingerprint)),
                    ("funding", .string(card.funding)),
                    ("generated_from", nil),
                    ("last4", .string(card.last4)),
                    ("networks", .object([("available", .array([.string(card.brand.rawValue)])), ("preferred", nil)])),
                    ("three_d_secure_usage", .object([("supported", true)])),
                    ("wallet", nil),
                ])
            ),
            ("created", .int(method.created.unixSeconds)),
            ("customer", nil),
            ("livemode", .bool(method.livemode)),
            ("metadata", .object(method.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("type", "card"),
        ])
    }
}
