import KessaiCore

/// The response objects of the OpenAPI document, as the DTOs write them (`PaymentIntentDTO`,
/// `RefundDTO`, `PaymentMethodDTO`, `StoredEvent`, …): every member they always write is
/// required, and `null` is allowed exactly where they write one.
enum OpenAPIObjects {
    typealias S = Schema

    static let nullableString = S.nullable(S.string())
    static let nullableInteger = S.nullable(S.integer())
    static let anyNull: JSONValue = .object([("type", "null")])
    static let stringMap: JSONValue = .object([("type", "object"), ("additionalProperties", S.string())])
    static let currency = S.enumeration(Currency.all.map(\.code))
    static let intentStatus = S.enumeration([
        "requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture", "succeeded", "canceled",
    ])
    static let methodTypes = S.array(S.enumeration(["card", "konbini", "payeasy", "emoney"]))
    static let openObject: JSONValue = .object([("type", "object")])

    static var paymentIntent: JSONValue {
        S.response(
            [
                ("id", S.string(pattern: "^pi_")), ("object", S.constant("payment_intent")), ("amount", S.integer(minimum: 0)),
                ("amount_capturable", S.integer(minimum: 0)), ("amount_details", openObject), ("amount_received", S.integer(minimum: 0)),
                ("application", anyNull), ("application_fee_amount", anyNull), ("automatic_payment_methods", S.nullable(openObject)),
                ("canceled_at", nullableInteger),
                (
                    "cancellation_reason",
                    S.nullable(S.enumeration(["duplicate", "fraudulent", "requested_by_customer", "abandoned", "failed_invoice", "void_invoice", "automatic"]))
                ),
                ("capture_method", S.enumeration(["automatic", "automatic_async", "manual"])),
                (
                    "card_watch",
                    S.nullable(
                        S.object(
                            [
                                ("action", S.enumeration(["flagged", "refused"])),
                                ("incident", nullableString), ("listed_at", S.integer()),
                            ], required: ["action", "incident", "listed_at"], closed: false,
                            "Kessai: the last confirmation's card is on the exposure watch list (its number was exposed in an incident). flagged: the payment went ahead; refused: the account refuses watched cards and the payment was blocked."
                        ))
                ),
                ("client_secret", S.string(pattern: "^pi_.+_secret_")),
                ("confirmation_method", S.enumeration(["automatic", "manual"])), ("created", S.integer()), ("currency", currency), ("customer", anyNull),
                ("description", nullableString), ("last_payment_error", S.nullable(lastPaymentError)), ("latest_charge", nullableString),
                ("livemode", S.boolean()), ("metadata", stringMap), ("next_action", S.nullable(openObject)), ("on_behalf_of", anyNull),
                ("payment_method", nullableString), ("payment_method_options", openObject), ("payment_method_types", methodTypes),
                ("processing", S.nullable(openObject)), ("receipt_email", nullableString), ("review", anyNull), ("setup_future_usage", anyNull),
                ("shipping", anyNull), ("statement_descriptor", anyNull), ("statement_descriptor_suffix", nullableString), ("status", intentStatus),
                ("transfer_data", anyNull), ("transfer_group", anyNull),
            ], "A PaymentIntent. With a publishable key (and the client secret) only the fields a payment page needs are present.")
    }

    /// What a publishable key sees: the same members, fewer of them required.
    static var paymentIntentPublishable: JSONValue {
        guard case .object(var members) = paymentIntent else { return paymentIntent }
        let required: [JSONValue] = PaymentIntentDTO.publishableFields.sorted().compactMap { name in
            ["id", "object", "amount", "client_secret", "currency", "status", "livemode", "created"].contains(name) ? .string(name) : nil
        }
        if let index = members.firstIndex(where: { $0.0 == "required" }) { members[index].1 = .array(required) }
        return .object(members)
    }

    static let lastPaymentError = S.object(
        [
            ("code", S.string()), ("decline_code", S.string()), ("message", S.string()), ("payment_method", openObject), ("type", S.string()),
        ], required: ["code", "message", "type"], closed: false)

    static var paymentMethod: JSONValue {
        let address = S.response([
            ("city", nullableString), ("country", nullableString), ("line1", nullableString), ("line2", nullableString),
            ("postal_code", nullableString), ("state", nullableString),
        ])
        return S.response([
            ("id", S.string(pattern: "^pm_")), ("object", S.constant("payment_method")), ("allow_redisplay", S.string()),
            (
                "billing_details",
                S.response([("address", address), ("email", nullableString), ("name", nullableString), ("phone", nullableString)])
            ),
            (
                "card",
                S.response([
                    ("brand", S.string()),
                    (
                        "checks",
                        S.response([
                            ("address_line1_check", nullableString), ("address_postal_code_check", nullableString), ("cvc_check", nullableString),
                        ])
                    ),
                    ("country", nullableString), ("display_brand", S.string()), ("exp_month", S.integer(minimum: 1, maximum: 12)),
                    ("exp_year", S.integer()), ("fingerprint", S.string()), ("funding", S.string()), ("generated_from", anyNull),
                    ("last4", S.string(pattern: "^[0-9]{4}$")), ("networks", openObject), ("three_d_secure_usage", openObject), ("wallet", anyNull),
                ])
            ),
            ("created", S.integer()), ("customer", anyNull), ("livemode", S.boolean()), ("metadata", stringMap), ("type", S.constant("card")),
        ])
    }

    /// A konbini, Pay-easy or e-money payment method (made with its intent), or a card's.
    static var anyPaymentMethod: JSONValue {
        let address = S.response([
            ("city", nullableString), ("country", nullableString), ("line1", nullableString), ("line2", nullableString),
            ("postal_code", nullableString), ("state", nullableString),
        ])
        let cash = S.object(
            [
                ("id", S.string(pattern: "^pm_")), ("object", S.constant("payment_method")), ("allow_redisplay", S.string()),
                (
                    "billing_details",
                    S.response([("address", address), ("email", nullableString), ("name", nullableString), ("phone", nullableString)])
                ),
                ("created", S.integer()), ("customer", anyNull), ("livemode", S.boolean()), ("metadata", stringMap),
                ("type", S.enumeration(["konbini", "payeasy", "emoney"])), ("konbini", openObject), ("payeasy", openObject), ("emoney", openObject),
            ], required: ["id", "object", "billing_details", "created", "livemode", "metadata", "type"], closed: false)
        return .object([("oneOf", .array([paymentMethod, cash]))])
    }

    /// A charge's `outcome`: the bank's answer, or Kessai's exposure watch rule.
    static let outcome = S.response([
        ("network_status", S.enumeration(["approved_by_network", "declined_by_network", "not_sent_to_network"])), ("reason", nullableString),
        ("risk_level", S.enumeration(["not_assessed", "elevated", "highest"])), ("rule", nullableString), ("seller_message", S.string()),
        ("type", S.enumeration(["authorized", "issuer_declined", "blocked"])),
    ])

    static var refund: JSONValue {
        S.response([
            ("id", S.string(pattern: "^re_")), ("object", S.constant("refund")), ("amount", S.integer(minimum: 1)), ("balance_transaction", anyNull),
            ("charge", S.string()), ("created", S.integer()), ("currency", currency), ("failure_reason", nullableString), ("metadata", stringMap),
            ("next_action", S.nullable(openObject)), ("payment_intent", S.string(pattern: "^pi_")), ("reason", nullableString),
            ("receipt_number", anyNull), ("source_transfer_reversal", anyNull), ("status", S.string()), ("transfer_reversal", anyNull),
        ])
    }

    static var charge: JSONValue {
        S.response([
            ("id", S.string(pattern: "^ch_")), ("object", S.constant("charge")), ("amount", S.integer(minimum: 0)),
            ("amount_captured", S.integer(minimum: 0)), ("amount_refunded", S.integer(minimum: 0)), ("captured", S.boolean()),
            ("created", S.integer()), ("currency", currency), ("failure_code", nullableString), ("failure_message", nullableString),
            ("outcome", outcome), ("paid", S.boolean()), ("payment_intent", S.string(pattern: "^pi_")),
            ("payment_method", S.string(pattern: "^pm_")), ("payment_method_details", openObject), ("refunded", S.boolean()),
            ("status", S.enumeration(["succeeded", "failed", "pending"])),
        ])
    }

    static var event: JSONValue {
        S.response([
            ("id", S.string(pattern: "^evt_")), ("object", S.constant("event")), ("api_version", S.string()), ("created", S.integer()),
            ("data", S.object([("object", openObject)], required: ["object"], closed: false)), ("livemode", S.boolean()),
            ("pending_webhooks", S.integer(minimum: 0)), ("request", openObject), ("type", S.enumeration(EventsController.eventTypes.sorted())),
        ])
    }

    static var webhookEndpoint: JSONValue {
        guard case .object(var members) = webhookEndpointListed else { return webhookEndpointListed }
        if let index = members.firstIndex(where: { $0.0 == "properties" }), case .object(var properties) = members[index].1 {
            properties.append(("secret", S.string(pattern: "^whsec_")))
            members[index].1 = .object(properties)
        }
        if let index = members.firstIndex(where: { $0.0 == "required" }), case .array(var required) = members[index].1 {
            required.append("secret")
            members[index].1 = .array(required)
        }
        return .object(members)
    }

    static var webhookEndpointListed: JSONValue {
        S.response([
            ("id", S.string(pattern: "^we_")), ("object", S.constant("webhook_endpoint")), ("api_version", anyNull), ("application", anyNull),
            ("created", S.integer()), ("description", nullableString), ("enabled_events", S.array(S.string())), ("livemode", S.boolean()),
            ("metadata", stringMap), ("status", S.enumeration(["enabled", "disabled"])), ("url", S.string()),
        ])
    }

    static var checkoutSession: JSONValue {
        S.response([
            ("id", S.string(pattern: "^cs_")), ("object", S.constant("checkout.session")), ("amount_subtotal", S.integer(minimum: 0)),
            ("amount_total", S.integer(minimum: 0)), ("cancel_url", nullableString), ("client_reference_id", nullableString), ("created", S.integer()),
            ("currency", currency), ("customer", anyNull), ("customer_email", nullableString), ("expires_at", S.integer()), ("livemode", S.boolean()),
            ("locale", S.nullable(S.enumeration(["ja", "en"]))), ("metadata", stringMap), ("mode", S.constant("payment")),
            ("payment_intent", S.string(pattern: "^pi_")), ("payment_method_types", S.array(S.string())),
            ("payment_status", S.enumeration(["paid", "unpaid"])), ("status", S.enumeration(["open", "complete", "expired"])),
            ("success_url", S.string()), ("url", nullableString),
        ])
    }

    static var lineItem: JSONValue {
        S.response([
            ("id", S.string(pattern: "^li_")), ("object", S.constant("item")), ("amount_subtotal", S.integer(minimum: 0)),
            ("amount_total", S.integer(minimum: 0)), ("currency", currency), ("description", S.string()), ("price", openObject),
            ("quantity", S.integer(minimum: 1)),
        ])
    }

    static var embeddingOrigin: JSONValue {
        S.response([("id", S.string(pattern: "^eo_")), ("object", S.constant("embedding_origin")), ("origin", S.string()), ("created", S.integer())])
    }

    static func deleted(_ object: String, prefix: String) -> JSONValue {
        S.response([("id", S.string(pattern: "^\(prefix)")), ("object", S.constant(object)), ("deleted", .object([("type", "boolean"), ("const", true)]))])
    }

    static func list(of item: String) -> JSONValue {
        S.response([("object", S.constant("list")), ("data", S.array(S.ref(item))), ("has_more", S.boolean()), ("url", S.string(pattern: "^/v1/"))])
    }

    static var checkpoint: JSONValue {
        S.response([
            ("object", S.constant("ledger_checkpoint")), ("size", S.integer(minimum: 0)), ("root_hash", S.string()), ("timestamp", S.integer()),
            ("signed_note", S.string()), ("signature", S.string()), ("key_id", S.string()), ("public_key", S.string()), ("algorithm", S.constant("Ed25519")),
        ])
    }

    /// Stripe's error object. Besides the validation codes, a 400 may be a refusal of the
    /// object's state (`payment_intent_unexpected_state`, `checkout_session_not_open`, …) or
    /// `card_number_in_free_text` (a card number in a field meant for text).
    static var error: JSONValue {
        S.response(
            [
                (
                    "error",
                    S.object(
                        [
                            (
                                "type",
                                S.enumeration([
                                    "invalid_request_error", "card_error", "authentication_error", "permission_error", "idempotency_error",
                                    "rate_limit_error", "api_error",
                                ])
                            ),
                            ("code", S.string()), ("decline_code", S.string()), ("message", S.string()), ("param", S.string()),
                            ("charge", S.string()), ("payment_intent", openObject), ("payment_method", openObject),
                        ], required: ["type", "message"], closed: false)
                )
            ],
            "An error in Stripe's shape. 400: a parameter refused (parameter_missing, parameter_invalid, parameter_invalid_integer, parameter_unknown, email_invalid, url_invalid, amount_too_small, amount_too_large, card_number_in_free_text) or the object's state does not allow the call (payment_intent_unexpected_state, checkout_session_not_open, …); 401: no valid key; 402: a card refused or declined; 403: the wrong kind of key; 404: no such object (another merchant's objects are not found either); 405: the path has no such method; 409: an Idempotency-Key in use; 413: body over the limit; 415: not form-encoded; 429: too many failed attempts."
        )
    }

    static var all: JSONValue {
        .object([
            ("payment_intent", paymentIntent), ("payment_intent_publishable", paymentIntentPublishable), ("payment_method", paymentMethod),
            ("any_payment_method", anyPaymentMethod),
            ("refund", refund), ("charge", charge), ("event", event), ("webhook_endpoint", webhookEndpoint), ("webhook_endpoint_listed", webhookEndpointListed),
            ("checkout.session", checkoutSession), ("item", lineItem), ("embedding_origin", embeddingOrigin), ("ledger_checkpoint", checkpoint),
            ("error", error),
        ])
    }
}
