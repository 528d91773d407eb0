import Hummingbird
import KessaiCore
import Merchants
import Payments
import Webhooks

/// A merchant's dashboard: its payments and refunds, API keys, webhook endpoints and team. A
/// user sees only its own merchant's objects; another merchant's answer 404 like missing ones.
struct DashboardPages: Sendable {
    let site: ConsoleSite
    var services: ConsoleServices { site.services }

    func register<Context: ConsoleRequestContext>(on group: RouterGroup<Context>) {
        group.get("") { request, context in try await payments(request, context) }
        group.get("payments/:id") { request, context in try await payment(request, context) }
        group.post("payments/:id/refund") { request, context in try await refund(request, context) }
        group.get("keys") { request, context in try await keys(request, context) }
        group.post("keys/roll") { request, context in try await rollKeys(request, context) }
        group.get("webhooks") { request, context in try await webhooks(request, context) }
        group.post("webhooks") { request, context in try await createEndpoint(request, context) }
        group.get("origins") { request, context in try await origins(request, context) }
        group.post("origins") { request, context in try await addOrigin(request, context) }
        group.post("origins/:id/remove") { request, context in try await removeOrigin(request, context) }
        group.get("webhooks/deliveries/:id") { request, context in try await delivery(request, context) }
        group.post("webhooks/deliveries/:id/resend") { request, context in try await resend(request, context) }
        group.get("team") { request, context in try await team(request, context) }
        group.post("team") { request, context in try await invite(request, context) }
        group.post("team/:id/role") { request, context in try await changeTeamRole(request, context) }
        group.post("team/:id/disable") { request, context in try await disableTeamMember(request, context) }
    }

    static let routes: [(method: String, path: String, permission: Permission?)] = [
        ("GET", "", .viewOwnPayments), ("GET", "payments/:id", .viewOwnPayments), ("POST", "payments/:id/refund", .refundOwn), ("GET", "keys", .manageKeys),
        ("POST", "keys/roll", .manageKeys), ("GET", "webhooks", .viewWebhooks),
        ("GET", "webhooks/deliveries/:id", .viewWebhooks), ("POST", "webhooks", .manageOwnWebhooks),
        ("GET", "origins", .manageKeys), ("POST", "origins", .manageKeys), ("POST", "origins/:id/remove", .manageKeys),
        ("POST", "webhooks/deliveries/:id/resend", .resendOwnWebhooks), ("GET", "team", .manageTeam),
        ("POST", "team", .manageTeam), ("POST", "team/:id/role", .manageTeam), ("POST", "team/:id/disable", .manageTeam),
    ]

    func merchant(_ visit: ConsoleSite.Visit) throws -> MerchantID {
        guard let merchant = visit.user.merchant else { throw PageError.forbidden }
        return merchant
    }

    /// The merchant, for a change: a merchant the provider suspended changes nothing (its
    /// dashboard stays readable).
    func activeMerchant(_ visit: ConsoleSite.Visit) async throws -> MerchantID {
        let id = try merchant(visit)
        guard let found = try await services.merchants.find(id.rawValue), found.suspendedAt == nil else { throw PageError.forbidden }
        return id
    }

    func payments(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .viewOwnPayments)
        let t = visit.language
        let rows = try await PaymentSearch(database: services.database).search("", status: nil, merchant: try merchant(visit).rawValue)
        try await site.audit(visit, "dashboard.payments.listed", ["results": String(rows.count)])
        var page = Page(t("payments"))
        page.table(
            id: "payments", headers: [t("id"), t("amount"), t("status"), t("card"), t("created")],
            rows: rows.map {
                (
                    id: $0.id, link: "/dashboard/payments/\($0.id)",
                    cells: [
                        $0.id, "\($0.amount) \($0.currency.uppercased())", $0.status,
                        [$0.brand, $0.last4.map { "•••• \($0)" }].compactMap { $0 }.joined(separator: " "), ConsoleSite.time($0.created),
                    ]
                )
            })
        return site.render(page, visit)
    }

    func intent(_ context: some ConsoleRequestContext, _ visit: ConsoleSite.Visit) async throws -> PaymentIntent {
        guard let raw = context.parameters.get("id"), raw.utf8.count <= 64, let id = PaymentIntentID(parsing: raw),
            let intent = try await services.payments.retrieve(id, merchant: try merchant(visit))
        else { throw PageError.notFound }
        return intent
    }

    func payment(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil, error: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .viewOwnPayments)
        let intent = try await intent(context, visit)
        try await site.audit(visit, "dashboard.payment.viewed", ["payment_intent": intent.id.rawValue])
        var page = try await PaymentDetail.page(intent, search: PaymentSearch(database: services.database), t: visit.language)
        if let notice { page.sections.insert(["notice": ["text": notice, "id": "notice"]], at: 0) }
        if let error { page.sections.insert(["error": ["text": error]], at: 0) }
        if visit.user.role.permissions.contains(.refundOwn), intent.status == .succeeded, intent.amountRefunded < intent.amountReceived {
            RefundForm.add(to: &page, action: "/dashboard/payments/\(intent.id)/refund", csrf: visit.csrf, visit.language)
        }
        return site.render(page, visit)
    }

    func refund(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .refundOwn)
        let form = try await site.form(request, context, session: visit.session)
        _ = try await activeMerchant(visit)
        let intent = try await intent(context, visit)
        let (notice, error) = try await RefundForm.perform(form, intent: intent, visit: visit, site: site, audit: "dashboard.refund")
        return try await payment(request, context, notice: notice, error: error)
    }

    func keys(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageKeys)
        let t = visit.language
        let merchant = try merchant(visit)
        var page = Page(t("keys"))
        extra?(&page)
        let summary = try await services.merchants.list().first { $0.merchant.id == merchant }
        page.list(summary?.activeKeys ?? [], id: "active-keys")
        page.heading(t("roll_keys"))
        page.paragraph(t("step_up"))
        page.form(
            id: "roll-keys", action: "/dashboard/keys/roll", csrf: visit.csrf, fields: ConsoleSite.stepUpFields(t), submit: t("roll_keys"), submitID: "roll")
        return site.render(page, visit)
    }

    func rollKeys(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageKeys)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard try await site.stepUp(visit, form, action: "api_keys.roll") else { return try await keys(request, context) { $0.error(t("step_up_refused")) } }
        let issued = try await services.merchants.rollKeys(for: try await activeMerchant(visit), actor: visit.actor)
        return try await keys(request, context) { $0.code(issued.secretKey.exposed, id: "new-secret-key", label: t("new_secret")) }
    }

    func webhooks(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .viewWebhooks)
        let t = visit.language
        let (endpoints, _) = try await services.webhookEndpoints.list(merchant: try merchant(visit), limit: 100)
        var page = Page(t("webhooks"))
        extra?(&page)
        page.table(
            id: "endpoints", headers: [t("id"), t("url"), t("enabled_events"), t("status")],
            rows: endpoints.map {
                (id: $0.id, link: nil, cells: [$0.id, $0.url, $0.enabledEvents.joined(separator: ", "), $0.enabled ? "enabled" : "disabled"])
            })
        if visit.user.role.permissions.contains(.manageOwnWebhooks) {
            page.heading(t("add_endpoint"))
            page.form(
                id: "create-endpoint", action: "/dashboard/webhooks", csrf: visit.csrf,
                fields: [
                    .init(name: "url", label: t("url"), type: "url", maxLength: 2048),
                    .init(name: "events", label: t("enabled_events_hint"), value: "*", maxLength: 1000),
                    .init(name: "description", label: t("description"), required: false, maxLength: 200),
                ], submit: t("create"), submitID: "create-endpoint-submit")
        }
        page.heading(t("recent_deliveries"))
        let deliveries = try await services.webhookDeliveries.list(merchant: try merchant(visit), failingOnly: false, limit: 50)
        WebhookPages(site: site).table(deliveries, base: "/dashboard/webhooks/deliveries", t)(&page)
        // The merchant's events, newest first (what GET /v1/events answers), whether or not an endpoint took them.
        page.heading(t("recent_events"))
        let (events, _) = try await EventStore(database: services.database).list(
            merchant: try merchant(visit), type: nil, limit: 50, startingAfter: nil, endingBefore: nil)
        page.table(
            id: "events", headers: [t("id"), t("event_type"), t("created"), t("pending_webhooks")],
            rows: events.map { (id: $0.id, link: nil, cells: [$0.id, $0.type, ConsoleSite.time($0.created), String($0.pendingWebhooks)]) })
        return site.render(page, visit)
    }
}

extension DashboardPages {
    /// A new webhook endpoint for the merchant, under the merchant API's rules; its signing
    /// secret is shown once.
    func createEndpoint(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageOwnWebhooks)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let url = try form.text("url", maximum: 2048)
        guard services.webhookURLAcceptable(url) else { return try await webhooks(request, context) { $0.error(t("invalid_url")) } }
        let events = (form.fields["events"] ?? "*").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !events.isEmpty, events.count <= 20, Set(events).count == events.count,
            events.allSatisfy({ $0 == "*" || services.webhookEventTypes.contains($0) })
        else { return try await webhooks(request, context) { $0.error(t("invalid_events")) } }
        let description = form.fields["description"].map { String($0.prefix(200)) }.flatMap { $0.isEmpty ? nil : $0 }
        let (endpoint, secret) = try await services.webhookEndpoints.create(
            merchant: try await activeMerchant(visit), livemode: false, url: url, events: events, description: description)
        try await site.audit(visit, "dashboard.webhook_endpoint.created", ["webhook_endpoint": endpoint.id])
        return try await webhooks(request, context) { $0.code(secret, id: "new-webhook-secret", label: t("endpoint_secret")) }
    }
}

extension DashboardPages {
    /// The pages allowed to frame the card fields (kessai.js), as the merchant API's
    /// `/v1/embedding_origins` keeps them.
    func origins(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageKeys)
        guard let access = services.embeddingOrigins else { throw PageError.notFound }
        let t = visit.language
        var page = Page(t("origins"))
        extra?(&page)
        let listed = try await access.list(try merchant(visit))
        page.table(
            id: "origins", headers: [t("origin")], rows: listed.map { (id: $0.id, link: nil, cells: [$0.origin]) },
            rowForms: Dictionary(
                uniqueKeysWithValues: listed.map {
                    (
                        $0.id,
                        Page.form(
                            id: "remove-\($0.id)", action: "/dashboard/origins/\($0.id)/remove", csrf: visit.csrf, fields: [], submit: t("remove"),
                            submitID: "remove", formClass: "remove-form")
                    )
                }))
        page.form(
            id: "add-origin", action: "/dashboard/origins", csrf: visit.csrf, fields: [.init(name: "origin", label: t("origin"), maxLength: 200)],
            submit: t("add"), submitID: "add-origin-submit")
        return site.render(page, visit)
    }

    func addOrigin(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageKeys)
        let form = try await site.form(request, context, session: visit.session)
        guard let access = services.embeddingOrigins else { throw PageError.notFound }
        let t = visit.language
        guard try await access.add(try await activeMerchant(visit), try form.text("origin", maximum: 200), visit.actor, visit.source) else {
            return try await origins(request, context) { $0.error(t("invalid_origin")) }
        }
        return try await origins(request, context) { $0.notice(t("origin_added")) }
    }

    func removeOrigin(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageKeys)
        _ = try await site.form(request, context, session: visit.session)
        guard let access = services.embeddingOrigins, let id = context.parameters.get("id"), id.utf8.count <= 64,
            try await access.remove(try await activeMerchant(visit), id, visit.actor, visit.source)
        else { throw PageError.notFound }
        return try await origins(request, context) { $0.notice(visit.language("origin_removed")) }
    }
}
