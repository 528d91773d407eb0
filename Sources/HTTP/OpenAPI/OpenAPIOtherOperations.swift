import KessaiCore

/// Events, webhook endpoints, Checkout Sessions, embedding origins, the ledger and this document.
enum OpenAPIOtherOperations {
    typealias S = Schema
    typealias Op = OpenAPIOperation

    /// Depends on the time: `expires_at` of a Checkout Session is checked against now.
    static func operations(now: Int64) -> [Op] {
        let lineItem = S.object(
            [
                (
                    "price_data",
                    S.object(
                        [
                            ("currency", S.enumeration(Currency.all.map(\.code), "The same for every item.")),
                            ("unit_amount", S.integer("In the currency's smallest unit.", minimum: 0, maximum: 999_999_999)),
                            (
                                "product_data",
                                S.object(
                                    [
                                        ("name", S.string("Up to 250 characters.", minLength: 1, maxLength: 250, pattern: Schema.noControl)),
                                        ("description", S.string("Accepted, not shown.")),
                                    ], required: ["name"])
                            ),
                            ("tax_behavior", S.string("Accepted, not used.")),
                        ], required: ["currency", "unit_amount", "product_data"])
                ),
                ("quantity", S.integer("1 to 9999.", minimum: 1, maximum: 9999)),
            ], required: ["price_data", "quantity"])
        return [
            Op(
                method: "get", path: "/v1/events", id: "listEvents", summary: "List events, newest first",
                query: [Op.pageLimit] + Op.cursors("evt_") + [
                    Op.Query(name: "type", schema: S.enumeration([""] + EventsController.eventTypes.sorted(), "Only this type (empty: all)."))
                ], response: "event_list"),
            Op(method: "get", path: "/v1/events/{id}", id: "retrieveEvent", summary: "Retrieve an event", response: "event"),
            Op(
                method: "post", path: "/v1/webhook_endpoints", id: "createWebhookEndpoint",
                summary: "Create a webhook endpoint (its whsec_ secret is returned this once)",
                form: [
                    ("url", S.url("https (http too in development), to a public address in production.", optional: false)),
                    (
                        "enabled_events",
                        S.array(S.enumeration(["*"] + EventsController.eventTypes.sorted()), minItems: 1, maxItems: 20, unique: true, "* or event types.")
                    ),
                    ("description", S.text("Up to 500 characters.", maxLength: 500)), ("metadata", S.metadata),
                    ("api_version", S.string("Accepted; events have api_version 2024-06-20.")),
                ], required: ["url", "enabled_events"], response: "webhook_endpoint",
                links: [
                    ("RetrieveWebhookEndpoint", "retrieveWebhookEndpoint"), ("UpdateWebhookEndpoint", "updateWebhookEndpoint"),
                    ("DeleteWebhookEndpoint", "deleteWebhookEndpoint"),
                ]),
            Op(
                method: "get", path: "/v1/webhook_endpoints", id: "listWebhookEndpoints", summary: "List webhook endpoints", query: [Op.pageLimit],
                response: "webhook_endpoint_list"),
            Op(
                method: "get", path: "/v1/webhook_endpoints/{id}", id: "retrieveWebhookEndpoint", summary: "Retrieve a webhook endpoint",
                response: "webhook_endpoint_listed"),
            Op(
                method: "post", path: "/v1/webhook_endpoints/{id}", id: "updateWebhookEndpoint",
                summary: "Update a webhook endpoint: its url, events, description; disabled=true stops deliveries until it is enabled again",
                form: [
                    ("url", S.url("https (http too in development), to a public address in production.", optional: false)),
                    (
                        "enabled_events",
                        S.array(S.enumeration(["*"] + EventsController.eventTypes.sorted()), minItems: 1, maxItems: 20, unique: true, "* or event types.")
                    ),
                    ("description", S.text("Up to 500 characters; empty clears it.", maxLength: 500)), ("disabled", S.boolean("Whether deliveries stop.")),
                    ("metadata", S.metadata),
                ], response: "webhook_endpoint_listed"),
            Op(
                method: "delete", path: "/v1/webhook_endpoints/{id}", id: "deleteWebhookEndpoint", summary: "Delete a webhook endpoint",
                response: "deleted_webhook_endpoint"),
            Op(
                method: "post", path: "/v1/checkout/sessions", id: "createCheckoutSession", summary: "Create a Checkout Session (hosted payment page)",
                form: [
                    ("mode", S.enumeration(["payment"])),
                    ("line_items", S.array(lineItem, minItems: 1, maxItems: 100, "The items; the total must be 50 to 99,999,999.")),
                    ("success_url", S.url("Where the buyer lands after paying; {CHECKOUT_SESSION_ID} is filled in.", optional: false)),
                    ("cancel_url", S.url("Where the page's cancel link goes.")),
                    ("payment_method_types", S.array(S.enumeration(["card"]), minItems: 1, maxItems: 1, "card.")),
                    ("locale", S.enumeration(["auto", "ja", "en"], "auto (Accept-Language), ja or en.")),
                    ("metadata", S.metadata), ("client_reference_id", S.text("Your reference.", maxLength: 200)),
                    ("customer_email", S.email("Prefills the page's e-mail field.")),
                    ("expires_at", S.integer("Unix time, 30 minutes to 24 hours ahead (default 24 hours).", minimum: now + 3600, maximum: now + 23 * 3600)),
                    (
                        "payment_intent_data",
                        S.object([
                            ("capture_method", OpenAPIPaymentOperations.captureMethod),
                            ("description", S.text("The intent's description.", maxLength: 1000)), ("metadata", S.metadata),
                        ])
                    ),
                    ("submit_type", S.string("Accepted, not used.")),
                ], required: ["mode", "line_items", "success_url"], response: "checkout.session",
                links: [
                    ("RetrieveCheckoutSession", "retrieveCheckoutSession"), ("CheckoutSessionLineItems", "listCheckoutSessionLineItems"),
                    ("ExpireCheckoutSession", "expireCheckoutSession"),
                ]),
            Op(
                method: "get", path: "/v1/checkout/sessions", id: "listCheckoutSessions", summary: "List Checkout Sessions", query: [Op.pageLimit],
                response: "checkout.session_list"),
            Op(
                method: "get", path: "/v1/checkout/sessions/{id}", id: "retrieveCheckoutSession", summary: "Retrieve a Checkout Session",
                response: "checkout.session"),
            Op(
                method: "get", path: "/v1/checkout/sessions/{id}/line_items", id: "listCheckoutSessionLineItems",
                summary: "A Checkout Session's line items", query: [Op.pageLimit], response: "item_list"),
            Op(
                method: "post", path: "/v1/checkout/sessions/{id}/expire", id: "expireCheckoutSession", summary: "Expire an open Checkout Session", form: [],
                response: "checkout.session"),
            Op(
                method: "post", path: "/v1/embedding_origins", id: "createEmbeddingOrigin",
                summary: "Register an origin allowed to embed Kessai's card fields (at most 50)",
                form: [
                    (
                        "origin",
                        S.string(
                            "https://host[:port] (http only for localhost), no path.", maxLength: 300,
                            pattern: "^(https://[a-z0-9-]+(\\.[a-z0-9-]+)*|http://(localhost|127\\.0\\.0\\.1|[a-z0-9-]+\\.localhost))(:[1-9][0-9]{0,3})?/?$")
                    )
                ], required: ["origin"], response: "embedding_origin", links: [("DeleteEmbeddingOrigin", "deleteEmbeddingOrigin")]),
            Op(
                method: "get", path: "/v1/embedding_origins", id: "listEmbeddingOrigins", summary: "List registered embedding origins, oldest first",
                query: [Op.pageLimit], response: "embedding_origin_list"),
            Op(
                method: "delete", path: "/v1/embedding_origins/{id}", id: "deleteEmbeddingOrigin", summary: "Remove an embedding origin",
                response: "deleted_embedding_origin"),
            Op(
                method: "get", path: "/v1/ledger/checkpoint", id: "retrieveLedgerCheckpoint", summary: "The latest signed ledger checkpoint", key: .operator,
                response: "ledger_checkpoint"),
            Op(method: "get", path: "/v1/openapi.json", id: "openapiDocument", summary: "This document", key: .none, response: "openapi_document"),
        ]
    }
}
