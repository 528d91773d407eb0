import Hummingbird
import KessaiCore
import NIOCore

/// The OpenAPI 3.1 document of the merchant API, served at `GET /v1/openapi.json`. A test
/// checks that its paths and methods are exactly the router's API routes.
enum OpenAPI {
    struct Field {
        let name: String
        let type: String
        let required: Bool
        let description: String

        init(_ name: String, _ type: String, required: Bool = false, _ description: String) {
            self.name = name
            self.type = type
            self.required = required
            self.description = description
        }
    }

    struct Operation {
        let method: String
        let path: String
        let summary: String
        /// `secret`, `publishable`, `either`, `operator` or `none`.
        let key: String
        let form: [Field]
        let query: [Field]
        let response: String

        init(_ method: String, _ path: String, _ summary: String, key: String = "secret", form: [Field] = [], query: [Field] = [], response: String) {
            self.method = method
            self.path = path
            self.summary = summary
            self.key = key
            self.form = form
            self.query = query
            self.response = response
        }
    }

    static let expand = Field("expand[]", "string", "Accepted for compatibility; objects are not expanded.")
    static let metadata = Field("metadata[KEY]", "string", "Up to 50 keys of 40 characters, values up to 500 characters; an empty value unsets a key.")
    static let paging = [
        Field("limit", "integer", "1 to 100, default 10."), Field("starting_after", "string", "An id from the previous page: the next, older page."),
        Field("ending_before", "string", "An id from the previous page: the newer page before it."),
    ]
    static let intentFields = [
        Field("amount", "integer", required: true, "In the currency's smallest unit (yen for JPY): 50 to 99,999,999."),
        Field("currency", "string", required: true, "ISO 4217, lower case: jpy, usd, eur."),
        Field("payment_method", "string", "A pm_ id from POST /v1/payment_methods."),
        Field("payment_method_types[]", "string", "card."), Field("capture_method", "string", "automatic (default), automatic_async or manual."),
        Field("confirm", "boolean", "Confirm at once."), Field("description", "string", "Up to 1000 characters."), metadata,
        Field("receipt_email", "string", "The buyer's e-mail."), Field("return_url", "string", "Where the buyer returns after 3-D Secure (with confirm=true)."),
        Field("payment_method_options[card][request_three_d_secure]", "string", "automatic, any or challenge."),
        Field("automatic_payment_methods[enabled]", "boolean", "Accepted; card is the method."),
        Field("payment_method_data[type]", "string", "konbini, payeasy or emoney (the intent's one payment_method_types entry)."),
        Field("payment_method_data[billing_details][name|email|phone]", "string", "Konbini: name and email required; Pay-easy: name and phone."),
        Field("payment_method_options[konbini][expires_after_days]", "integer", "1 to 60 (default 3): closes 23:59:59 JST on that day."),
        Field("payment_method_options[konbini][expires_at]", "integer", "Unix time instead of expires_after_days (at most 60 days ahead)."),
        Field("payment_method_options[konbini][confirmation_number]", "string", "10 or 11 digits, e.g. the buyer's phone number."),
        Field("payment_method_options[konbini][product_description]", "string", "Up to 22 characters, shown on the voucher."),
        Field("payment_method_options[payeasy][expires_after_days]", "integer", "1 to 60 (default 3)."),
        Field("payment_method_options[emoney][provider]", "string", "The e-money provider: test."), expand,
    ]

    static let operations: [Operation] = [
        Operation(
            "post", "/v1/payment_methods", "Tokenize a card (from the buyer's browser)", key: "publishable",
            form: [
                Field("type", "string", required: true, "card."), Field("card[number]", "string", required: true, "The card number."),
                Field("card[exp_month]", "integer", required: true, "1 to 12."), Field("card[exp_year]", "integer", required: true, "Four digits."),
                Field("card[cvc]", "string", "Held in memory until the first authorization, never stored."),
                Field("billing_details[name|email|phone|address[...]]", "string", "The buyer's details."), metadata, expand,
            ], response: "payment_method"),
        Operation("get", "/v1/payment_methods/{id}", "Retrieve a payment method", query: [expand], response: "payment_method"),
        Operation("post", "/v1/payment_intents", "Create a PaymentIntent (and confirm it with confirm=true)", form: intentFields, response: "payment_intent"),
        Operation("get", "/v1/payment_intents", "List PaymentIntents, newest first", query: paging + [expand], response: "list"),
        Operation(
            "get", "/v1/payment_intents/{id}", "Retrieve a PaymentIntent (the publishable key needs client_secret)", key: "either",
            query: [Field("client_secret", "string", "With a publishable key."), expand], response: "payment_intent"),
        Operation(
            "post", "/v1/payment_intents/{id}", "Update a PaymentIntent before it is confirmed",
            form: intentFields.filter { !["confirm", "return_url", "automatic_payment_methods[enabled]"].contains($0.name) }.map {
                Field($0.name, $0.type, $0.description)
            }, response: "payment_intent"),
        Operation(
            "post", "/v1/payment_intents/{id}/confirm", "Confirm: authorize the card, or ask for 3-D Secure (requires_action)", key: "either",
            form: [
                Field("payment_method", "string", "A pm_ id."), Field("return_url", "string", "Where the buyer returns after 3-D Secure."),
                Field("client_secret", "string", "With a publishable key."), Field("receipt_email", "string", "The buyer's e-mail."), expand,
            ], response: "payment_intent"),
        Operation(
            "post", "/v1/payment_intents/{id}/capture", "Capture an authorized PaymentIntent, in whole or part",
            form: [Field("amount_to_capture", "integer", "Up to amount_capturable; the rest is released."), metadata, expand], response: "payment_intent"),
        Operation(
            "post", "/v1/payment_intents/{id}/cancel", "Cancel a PaymentIntent (voiding an authorization)",
            form: [Field("cancellation_reason", "string", "duplicate, fraudulent, requested_by_customer or abandoned."), expand],
            response: "payment_intent"),
        Operation(
            "post", "/v1/refunds", "Refund a captured payment, in whole or part",
            form: [
                Field("payment_intent", "string", "The pi_ id (or charge, a ch_ id)."), Field("charge", "string", "The ch_ id."),
                Field("amount", "integer", "Default: all that is left to refund."),
                Field("reason", "string", "duplicate, fraudulent or requested_by_customer."), metadata, expand,
            ], response: "refund"),
        Operation("get", "/v1/refunds", "List refunds", query: paging + [Field("payment_intent", "string", "Only this intent's."), expand], response: "list"),
        Operation("get", "/v1/refunds/{id}", "Retrieve a refund", query: [expand], response: "refund"),
        Operation(
            "get", "/v1/events", "List events, newest first", query: paging + [Field("type", "string", "Only this type."), expand], response: "list"),
        Operation("get", "/v1/events/{id}", "Retrieve an event", query: [expand], response: "event"),
        Operation(
            "post", "/v1/webhook_endpoints", "Create a webhook endpoint (its whsec_ secret is returned this once)",
            form: [
                Field("url", "string", required: true, "https (http in development)."),
                Field("enabled_events[]", "string", required: true, "* or event types."), Field("description", "string", "Up to 500 characters."),
                metadata, expand,
            ], response: "webhook_endpoint"),
        Operation("get", "/v1/webhook_endpoints", "List webhook endpoints", query: [Field("limit", "integer", "1 to 100."), expand], response: "list"),
        Operation("get", "/v1/webhook_endpoints/{id}", "Retrieve a webhook endpoint", response: "webhook_endpoint"),
        Operation("delete", "/v1/webhook_endpoints/{id}", "Delete a webhook endpoint", response: "deleted"),
        Operation(
            "post", "/v1/checkout/sessions", "Create a Checkout Session (hosted payment page)",
            form: [
                Field("mode", "string", required: true, "payment."),
                Field("line_items[N][price_data][currency]", "string", required: true, "The same for every item: jpy, usd, eur."),
                Field("line_items[N][price_data][unit_amount]", "integer", required: true, "In the currency's smallest unit."),
                Field("line_items[N][price_data][product_data][name]", "string", required: true, "Up to 250 characters."),
                Field("line_items[N][quantity]", "integer", required: true, "1 to 9999."),
                Field("success_url", "string", required: true, "Where the buyer lands after paying; {CHECKOUT_SESSION_ID} is filled in."),
                Field("cancel_url", "string", "Where the page's cancel link goes."), Field("payment_method_types[]", "string", "card."),
                Field("locale", "string", "auto (Accept-Language), ja or en."), Field("client_reference_id", "string", "Your reference, up to 200 characters."),
                Field("customer_email", "string", "Prefills the page's e-mail field."),
                Field("expires_at", "integer", "Unix time, 30 minutes to 24 hours ahead (default 24 hours)."),
                Field("payment_intent_data[capture_method]", "string", "automatic or manual."),
                Field("payment_intent_data[description]", "string", "The intent's description."), metadata, expand,
            ], response: "checkout.session"),
        Operation("get", "/v1/checkout/sessions", "List Checkout Sessions", query: [Field("limit", "integer", "1 to 100."), expand], response: "list"),
        Operation("get", "/v1/checkout/sessions/{id}", "Retrieve a Checkout Session", query: [expand], response: "checkout.session"),
        Operation("get", "/v1/checkout/sessions/{id}/line_items", "A Checkout Session's line items", response: "list"),
        Operation("post", "/v1/checkout/sessions/{id}/expire", "Expire an open Checkout Session", form: [expand], response: "checkout.session"),
        Operation(
            "post", "/v1/embedding_origins", "Register an origin allowed to embed Kessai's card fields",
            form: [Field("origin", "string", required: true, "https://host[:port]; http only for localhost.")], response: "embedding_origin"),
        Operation(
            "get", "/v1/embedding_origins", "List registered embedding origins", query: [Field("limit", "integer", "Ignored; all are listed.")],
            response: "list"),
        Operation("delete", "/v1/embedding_origins/{id}", "Remove an embedding origin", response: "deleted"),
        Operation(
            "post", "/v1/test_helpers/payment_intents/{id}/pay", "Test mode: the buyer pays a konbini or Pay-easy intent at the counter or ATM",
            form: [expand], response: "payment_intent"),
        Operation(
            "post", "/v1/test_helpers/payment_intents/{id}/expire", "Test mode: an unpaid konbini or Pay-easy intent passes its deadline now",
            form: [expand], response: "payment_intent"),
        Operation("get", "/v1/ledger/checkpoint", "The latest signed ledger checkpoint", key: "operator", response: "checkpoint"),
        Operation("get", "/v1/openapi.json", "This document", key: "none", response: "document"),
    ]

    static func schema(_ type: String) -> JSONValue {
        switch type {
        case "integer": .object([("type", "integer")])
        case "boolean": .object([("type", "boolean")])
        default: .object([("type", "string")])
        }
    }

    static func objectSchema(_ name: String, _ properties: [(String, String)]) -> (String, JSONValue) {
        (
            name,
            .object([
                ("type", "object"),
                (
                    "properties",
                    .object(
                        properties.map { property in
                            let (key, type) = property
                            switch type {
                            case "nullable string": return (key, .object([("type", .array(["string", "null"]))]))
                            case "nullable integer": return (key, .object([("type", .array(["integer", "null"]))]))
                            case "object": return (key, .object([("type", "object")]))
                            case "nullable object": return (key, .object([("type", .array(["object", "null"]))]))
                            case "array": return (key, .object([("type", "array"), ("items", .object([("type", "string")]))]))
                            default: return (key, .object([("type", .string(type))]))
                            }
                        })
                ),
            ])
        )
    }

    static let schemas: JSONValue = .object([
        objectSchema(
            "payment_intent",
            [
                ("id", "string"), ("object", "string"), ("amount", "integer"), ("amount_capturable", "integer"), ("amount_received", "integer"),
                ("canceled_at", "nullable integer"), ("cancellation_reason", "nullable string"), ("capture_method", "string"), ("client_secret", "string"),
                ("created", "integer"), ("currency", "string"), ("description", "nullable string"), ("last_payment_error", "nullable object"),
                ("latest_charge", "nullable string"), ("livemode", "boolean"), ("metadata", "object"), ("next_action", "nullable object"),
                ("payment_method", "nullable string"), ("payment_method_types", "array"), ("receipt_email", "nullable string"), ("status", "string"),
            ]),
        objectSchema(
            "payment_method",
            [
                ("id", "string"), ("object", "string"), ("billing_details", "object"), ("card", "object"), ("created", "integer"), ("livemode", "boolean"),
                ("metadata", "object"), ("type", "string"),
            ]),
        objectSchema(
            "refund",
            [
                ("id", "string"), ("object", "string"), ("amount", "integer"), ("charge", "string"), ("created", "integer"), ("currency", "string"),
                ("metadata", "object"), ("payment_intent", "string"), ("reason", "nullable string"), ("status", "string"),
            ]),
        objectSchema(
            "event",
            [
                ("id", "string"), ("object", "string"), ("api_version", "string"), ("created", "integer"), ("data", "object"), ("livemode", "boolean"),
                ("pending_webhooks", "integer"), ("request", "object"), ("type", "string"),
            ]),
        objectSchema(
            "webhook_endpoint",
            [
                ("id", "string"), ("object", "string"), ("created", "integer"), ("enabled_events", "array"), ("livemode", "boolean"),
                ("secret", "string"), ("status", "string"), ("url", "string"),
            ]),
        objectSchema(
            "checkout.session",
            [
                ("id", "string"), ("object", "string"), ("amount_subtotal", "integer"), ("amount_total", "integer"), ("cancel_url", "nullable string"),
                ("client_reference_id", "nullable string"), ("created", "integer"), ("currency", "string"), ("customer_email", "nullable string"),
                ("expires_at", "integer"), ("livemode", "boolean"), ("locale", "nullable string"), ("metadata", "object"), ("mode", "string"),
                ("payment_intent", "string"), ("payment_method_types", "array"), ("payment_status", "string"), ("status", "string"),
                ("success_url", "string"), ("url", "nullable string"),
            ]),
        objectSchema("embedding_origin", [("id", "string"), ("object", "string"), ("origin", "string"), ("created", "integer")]),
        objectSchema("list", [("object", "string"), ("data", "array"), ("has_more", "boolean"), ("url", "string")]),
        objectSchema("deleted", [("id", "string"), ("object", "string"), ("deleted", "boolean")]),
        objectSchema("checkpoint", [("size", "integer"), ("root", "string"), ("time", "integer"), ("signature", "string"), ("key_id", "string")]),
        objectSchema("document", [("openapi", "string")]),
        (
            "error",
            .object([
                ("type", "object"),
                (
                    "properties",
                    .object([
                        (
                            "error",
                            .object([
                                ("type", "object"),
                                (
                                    "properties",
                                    .object([
                                        ("type", .object([("type", "string")])), ("code", .object([("type", "string")])),
                                        ("decline_code", .object([("type", "string")])), ("message", .object([("type", "string")])),
                                        ("param", .object([("type", "string")])), ("payment_intent", .object([("type", "object")])),
                                    ])
                                ),
                                ("required", .array(["type", "message"])),
                            ])
                        )
                    ])
                ),
            ])
        ),
    ])

    static var document: JSONValue {
        var paths: [(String, [(String, JSONValue)])] = []
        for operation in operations {
            var members: [(String, JSONValue)] = [("summary", .string(operation.summary))]
            var parameters: [JSONValue] = []
            if operation.path.contains("{id}") {
                parameters.append(.object([("name", "id"), ("in", "path"), ("required", true), ("schema", .object([("type", "string")]))]))
            }
            for field in operation.query {
                parameters.append(
                    .object([
                        ("name", .string(field.name)), ("in", "query"), ("required", .bool(field.required)), ("description", .string(field.description)),
                        ("schema", schema(field.type)),
                    ]))
            }
            if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
            if !operation.form.isEmpty {
                members.append(
                    (
                        "requestBody",
                        .object([
                            (
                                "content",
                                .object([
                                    (
                                        "application/x-www-form-urlencoded",
                                        .object([
                                            (
                                                "schema",
                                                .object([
                                                    ("type", "object"),
                                                    (
                                                        "properties",
                                                        .object(
                                                            operation.form.map {
                                                                ($0.name, .object([("type", schema($0.type)), ("description", .string($0.description))]))
                                                            })
                                                    ),
                                                    ("required", .array(operation.form.filter(\.required).map { .string($0.name) })),
                                                ])
                                            )
                                        ])
                                    )
                                ])
                            )
                        ])
                    ))
            }
            switch operation.key {
            case "secret": members.append(("security", .array([.object([("secretKey", .array([]))])])))
            case "publishable": members.append(("security", .array([.object([("publishableKey", .array([]))])])))
            case "either": members.append(("security", .array([.object([("secretKey", .array([]))]), .object([("publishableKey", .array([]))])])))
            case "operator": members.append(("security", .array([.object([("operatorToken", .array([]))])])))
            default: members.append(("security", .array([])))
            }
            let ok: JSONValue = .object([
                ("description", "OK"),
                (
                    "content",
                    .object([("application/json", .object([("schema", .object([("$ref", .string("#/components/schemas/\(operation.response)"))]))]))])
                ),
            ])
            let error: JSONValue = .object([
                ("description", "An error in Stripe's shape"),
                ("content", .object([("application/json", .object([("schema", .object([("$ref", "#/components/schemas/error")]))]))])),
            ])
            members.append(("responses", .object([("200", ok), ("4XX", error)])))
            if let index = paths.firstIndex(where: { $0.0 == operation.path }) {
                paths[index].1.append((operation.method, .object(members)))
            } else {
                paths.append((operation.path, [(operation.method, .object(members))]))
            }
        }
        return .object([
            ("openapi", "3.1.0"),
            (
                "info",
                .object([
                    ("title", "Kessai merchant API"), ("version", "1.0.0"),
                    (
                        "description",
                        "A Stripe-compatible subset: Stripe's client libraries work by changing their base URL. Requests are form-encoded; errors have Stripe's shape; every POST honours Idempotency-Key."
                    ),
                ])
            ),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            (
                "components",
                .object([
                    ("schemas", schemas),
                    (
                        "securitySchemes",
                        .object([
                            (
                                "secretKey",
                                .object([("type", "http"), ("scheme", "bearer"), ("description", "sk_test_… / sk_live_…, from the merchant's server.")])
                            ),
                            (
                                "publishableKey",
                                .object([("type", "http"), ("scheme", "bearer"), ("description", "pk_test_… / pk_live_…, from the buyer's browser.")])
                            ),
                            ("operatorToken", .object([("type", "http"), ("scheme", "bearer"), ("description", "op_… operator token.")])),
                        ])
                    ),
                ])
            ),
        ])
    }

    static func register(on router: Router<KessaiRequestContext>) {
        let text = document.serialized()
        router.get("/v1/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
