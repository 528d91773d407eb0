import KessaiCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Payment methods, PaymentIntents, refunds and the cash test helpers.
enum OpenAPIPaymentOperations {
    typealias S = Schema
    typealias Op = OpenAPIOperation

    static let currency = S.enumeration(Currency.all.map(\.code), "ISO 4217, lower case.")
    static let amount = S.integer("In the currency's smallest unit (yen for JPY): 50 to 99,999,999.", minimum: 50, maximum: 99_999_999)
    static let paymentMethodID = S.string("A pm_ id from POST /v1/payment_methods (empty: none).", maxLength: 64, pattern: "^(pm_[0-9A-Za-z]+)?$")
    static let methodTypes = S.array(
        S.enumeration(["card", "konbini", "payeasy", "emoney"]), minItems: 1, maxItems: 4, unique: true,
        "card (default), or one of konbini, payeasy, emoney alone (jpy only; konbini ¥120–¥300,000, payeasy ¥1–¥999,999, emoney ¥1–¥300,000).")
    static let captureMethod = S.enumeration(
        ["automatic", "automatic_async", "manual"], "automatic (default), automatic_async or manual; cash methods: automatic.")
    static let receiptEmail = S.email("The buyer's e-mail (empty: none).")
    static let phone = S.string("Digits, spaces, + - and parentheses.", maxLength: 32, pattern: "^[0-9+() -]*$")

    static let billingDetails = S.object([
        ("name", S.text("The buyer's name.", maxLength: 200)), ("email", S.email("The buyer's e-mail.")), ("phone", phone),
        (
            "address",
            S.object([
                ("line1", S.text("Street.", maxLength: 200)), ("line2", S.text("Building.", maxLength: 200)), ("city", S.text("City.", maxLength: 100)),
                ("state", S.text("Prefecture or state.", maxLength: 100)),
                ("postal_code", S.string("Letters, digits, spaces and -.", maxLength: 20, pattern: "^[A-Za-z0-9 -]*$")),
                ("country", S.string("ISO 3166-1 alpha-2.", maxLength: 2, pattern: "^([A-Za-z]{2})?$")),
            ])
        ),
    ])

    static let threeDSecure = S.object([
        ("card", S.object([("request_three_d_secure", S.enumeration(["automatic", "any", "challenge"], "3-D Secure: automatic, any or challenge."))]))
    ])

    static let cashOptions = S.object([
        (
            "konbini",
            S.object([
                ("expires_after_days", S.integer("1 to 60 (default 3): closes 23:59:59 JST on that day.", minimum: 1, maximum: 60)),
                ("confirmation_number", S.string("10 or 11 digits, e.g. the buyer's phone number.", pattern: "^[0-9]{10,11}$")),
                ("product_description", S.text("Shown on the voucher.", maxLength: 22)),
            ])
        ),
        ("payeasy", S.object([("expires_after_days", S.integer("1 to 60 (default 3).", minimum: 1, maximum: 60))])),
        ("emoney", S.object([("provider", S.enumeration(["test"], "The e-money provider."))])),
    ])

    static let paymentMethodData = S.object(
        [("type", S.enumeration(["konbini", "payeasy", "emoney"], "The intent's one payment method type.")), ("billing_details", billingDetails)],
        required: ["type"], "Cash methods only: konbini needs name and email, Pay-easy name and phone (by confirmation).")

    static let statementDescriptorSuffix = S.string(
        "Printed after your descriptor on the buyer's card statement: up to 22 printable ASCII characters with a letter, none of < > \\ ' \" *; empty: none.",
        maxLength: 22, pattern: PaymentIntentsController.statementDescriptorPattern)

    static var createIntent: [(String, JSONValue)] {
        [
            ("amount", amount), ("currency", currency), ("payment_method", paymentMethodID), ("payment_method_types", methodTypes),
            ("capture_method", captureMethod), ("confirm", S.boolean("Confirm at once.")), ("description", S.text("Shown to the merchant.", maxLength: 1000)),
            ("metadata", S.metadata), ("receipt_email", receiptEmail), ("statement_descriptor_suffix", statementDescriptorSuffix),
            ("return_url", S.url("Where the buyer returns after 3-D Secure or an e-money page; only with confirm=true.")),
            (
                "automatic_payment_methods",
                S.object([("enabled", S.boolean("Accepted; card is the method.")), ("allow_redirects", S.enumeration(["always", "never"]))])
            ),
            ("confirmation_method", S.enumeration(["automatic", "manual"], "Accepted for compatibility.")),
            ("payment_method_options", threeDSecure), ("payment_method_data", paymentMethodData),
        ]
    }

    static var updateIntent: [(String, JSONValue)] {
        [
            ("amount", amount), ("currency", currency), ("payment_method", paymentMethodID),
            ("payment_method_types", S.array(S.enumeration(["card"]), minItems: 1, maxItems: 1, unique: true, "card: an intent's type does not change.")),
            ("capture_method", captureMethod), ("description", S.text("Empty unsets.", maxLength: 1000)), ("metadata", S.metadata),
            ("receipt_email", receiptEmail), ("payment_method_options", threeDSecure), ("statement_descriptor_suffix", statementDescriptorSuffix),
        ]
    }

    static let intentLinks = [
        ("RetrievePaymentIntent", "retrievePaymentIntent"), ("UpdatePaymentIntent", "updatePaymentIntent"), ("ConfirmPaymentIntent", "confirmPaymentIntent"),
        ("CapturePaymentIntent", "capturePaymentIntent"), ("CancelPaymentIntent", "cancelPaymentIntent"),
    ]

    /// A card's expiry year as ``CardExpiry`` takes it: four digits from this year to 50 years
    /// ahead, or two digits meaning 20YY. This year's card is valid through its month, so a month
    /// already past is the one rule between the two fields (402 `invalid_expiry_month`).
    static func expiryYear(thisYear: Int) -> JSONValue {
        let twoDigits = Int64(thisYear - 2000)
        return .object([
            (
                "anyOf",
                .array([
                    S.integer(minimum: Int64(thisYear), maximum: Int64(thisYear + 50)),
                    S.integer(minimum: twoDigits, maximum: min(99, twoDigits + 50)),
                ])
            ),
            (
                "description",
                "Four digits from this year to 50 years ahead, or two meaning 20YY. A card is valid through the last day of its month: this year with a month already past answers 402 invalid_expiry_month."
            ),
        ])
    }

    static var operations: [Op] {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        let year = utc.component(.year, from: Date())
        let clientSecret = Op.Query(name: "client_secret", schema: S.string("Required with a publishable key (ignored with a secret key)."))
        return [
            Op(
                method: "post", path: "/v1/payment_methods", id: "createPaymentMethod", summary: "Tokenize a card (from the buyer's browser)",
                key: .publishable,
                form: [
                    ("type", S.enumeration(["card"])),
                    (
                        "card",
                        S.object(
                            [
                                (
                                    "number",
                                    S.string(
                                        "12 to 19 digits; it must pass Luhn and have a known brand's prefix and length, else 402 incorrect_number.",
                                        pattern: "^[0-9]{12,19}$")
                                ),
                                ("exp_month", S.integer("1 to 12.", minimum: 1, maximum: 12)),
                                ("exp_year", expiryYear(thisYear: year)),
                                ("cvc", S.string("3 digits (4 for American Express; else 402 invalid_cvc); never stored.", pattern: "^[0-9]{3,4}$")),
                            ], required: ["number", "exp_month", "exp_year"])
                    ),
                    ("billing_details", billingDetails), ("metadata", S.metadata), ("allow_redisplay", S.enumeration(["always", "limited", "unspecified"])),
                ], required: ["type", "card"], response: "payment_method", links: [("RetrievePaymentMethod", "retrievePaymentMethod")]),
            Op(
                method: "get", path: "/v1/payment_methods/{id}", id: "retrievePaymentMethod",
                summary: "Retrieve a payment method: a card's, or a konbini, Pay-easy or e-money method made with its intent",
                response: "any_payment_method"),
            Op(
                method: "post", path: "/v1/payment_intents", id: "createPaymentIntent", summary: "Create a PaymentIntent (and confirm it with confirm=true)",
                form: createIntent, required: ["amount", "currency"], response: "payment_intent", links: intentLinks),
            Op(
                method: "get", path: "/v1/payment_intents", id: "listPaymentIntents", summary: "List PaymentIntents, newest first",
                query: [Op.pageLimit] + Op.cursors("pi_") + [Op.created], response: "payment_intent_list"),
            Op(
                method: "get", path: "/v1/payment_intents/{id}", id: "retrievePaymentIntent",
                summary: "Retrieve a PaymentIntent (the publishable key needs client_secret)", key: .either, query: [clientSecret],
                response: "payment_intent_publishable"),
            Op(
                method: "post", path: "/v1/payment_intents/{id}", id: "updatePaymentIntent", summary: "Update a PaymentIntent before it is confirmed",
                form: updateIntent, response: "payment_intent"),
            Op(
                method: "post", path: "/v1/payment_intents/{id}/confirm", id: "confirmPaymentIntent",
                summary: "Confirm: authorize the card, ask for 3-D Secure (requires_action), or issue cash payment numbers", key: .either,
                form: [
                    ("payment_method", paymentMethodID), ("return_url", S.url("Where the buyer returns after 3-D Secure.")),
                    ("client_secret", S.string("Required with a publishable key (ignored with a secret key).")), ("receipt_email", receiptEmail),
                    ("use_stripe_sdk", S.boolean()), ("payment_method_options", threeDSecure), ("payment_method_data", paymentMethodData),
                ], response: "payment_intent_publishable"),
            Op(
                method: "post", path: "/v1/payment_intents/{id}/capture", id: "capturePaymentIntent",
                summary: "Capture an authorized PaymentIntent, in whole or part",
                form: [
                    ("amount_to_capture", S.integer("Up to amount_capturable; the rest is released.", minimum: 1, maximum: 999_999_999_999)),
                    ("metadata", S.metadata), ("final_capture", S.boolean()),
                ], response: "payment_intent"),
            Op(
                method: "post", path: "/v1/payment_intents/{id}/cancel", id: "cancelPaymentIntent",
                summary: "Cancel a PaymentIntent (voiding an authorization)",
                form: [("cancellation_reason", S.enumeration(["duplicate", "fraudulent", "requested_by_customer", "abandoned"]))], response: "payment_intent"),
            Op(
                method: "post", path: "/v1/refunds", id: "createRefund", summary: "Refund a captured payment, in whole or part",
                form: [
                    ("payment_intent", S.string("The pi_ id (or give charge).", maxLength: 64, pattern: "^pi_[0-9A-Za-z]+$")),
                    ("charge", S.string("The ch_ id.", maxLength: 64, pattern: "^ch_[0-9A-Za-z]+$")),
                    ("amount", S.integer("Default: all that is left to refund.", minimum: 1, maximum: 999_999_999_999)),
                    ("reason", S.enumeration(["duplicate", "fraudulent", "requested_by_customer", ""], "Empty: none.")), ("metadata", S.metadata),
                ], anyRequired: ["payment_intent", "charge"], response: "refund", links: [("RetrieveRefund", "retrieveRefund")],
                description: "payment_intent or charge is required."),
            Op(
                method: "get", path: "/v1/refunds", id: "listRefunds", summary: "List refunds",
                query: [Op.pageLimit] + Op.cursors("re_") + [
                    Op.Query(name: "payment_intent", schema: S.string("Only this intent's refunds.", maxLength: 64, pattern: "^(pi_[0-9A-Za-z]+)?$")),
                    Op.created,
                ], response: "refund_list"),
            Op(method: "get", path: "/v1/refunds/{id}", id: "retrieveRefund", summary: "Retrieve a refund", response: "refund"),
            Op(
                method: "get", path: "/v1/charges", id: "listCharges", summary: "List charges (one per authorization), newest first",
                query: [Op.pageLimit] + Op.cursors("ch_") + [
                    Op.Query(name: "payment_intent", schema: S.string("Only this intent's charges.", maxLength: 64, pattern: "^(pi_[0-9A-Za-z]+)?$")),
                    Op.created,
                ], response: "charge_list"),
            Op(method: "get", path: "/v1/charges/{id}", id: "retrieveCharge", summary: "Retrieve a charge", response: "charge"),
            Op(
                method: "post", path: "/v1/test_helpers/payment_intents/{id}/pay", id: "payCashPaymentIntent",
                summary: "Test mode: the buyer pays a konbini or Pay-easy intent at the counter or ATM",
                form: [("amount", S.integer("Accepted; the whole amount is paid.", minimum: 1, maximum: 999_999_999))], response: "payment_intent"),
            Op(
                method: "post", path: "/v1/test_helpers/payment_intents/{id}/expire", id: "expireCashPaymentIntent",
                summary: "Test mode: an unpaid konbini or Pay-easy intent passes its deadline now", form: [], response: "payment_intent"),
        ]
    }
}
