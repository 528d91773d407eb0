import Hummingbird
import KessaiCore
import Merchants
import Webhooks

/// Webhook deliveries for people: the failing ones, a delivery's attempts, a resend. The
/// operator console sees every merchant's; a dashboard only its own.
struct WebhookPages {
    let site: ConsoleSite

    func table(_ deliveries: [WebhookDeliveries.Delivery], base: String, _ t: Language) -> (inout Page) -> Void {
        { page in
            page.table(
                id: "deliveries", headers: [t("id"), t("merchant"), t("event"), t("url"), t("status"), t("attempts"), t("http_status"), t("created")],
                rows: deliveries.map {
                    (
                        id: $0.id, link: "\(base)/\($0.id)",
                        cells: [
                            $0.id, $0.merchant.rawValue, $0.eventType, $0.url, $0.state, String($0.attempts), $0.lastStatus.map(String.init) ?? "-",
                            ConsoleSite.time($0.created),
                        ]
                    )
                })
        }
    }

    /// One delivery with its attempts and, when allowed, a resend form.
    func detail(
        _ delivery: WebhookDeliveries.Delivery, _ attempts: [WebhookDeliveries.Attempt], visit: ConsoleSite.Visit, base: String, canResend: Bool,
        notice: String?
    ) -> Page {
        let t = visit.language
        var page = Page(delivery.id)
        if let notice { page.notice(notice) }
        page.facts(
            [
                (t("merchant"), delivery.merchant.rawValue), (t("event"), "\(delivery.eventType) (\(delivery.event))"), (t("url"), delivery.url),
                (t("status"), delivery.state),
            ], id: "delivery")
        page.table(
            id: "attempts", headers: ["#", t("time"), t("http_status"), t("error_text"), t("duration")],
            rows: attempts.map {
                (
                    id: String($0.number), link: nil,
                    cells: [String($0.number), ConsoleSite.time($0.at), $0.statusCode.map(String.init) ?? "-", $0.error ?? "", String($0.milliseconds)]
                )
            })
        if canResend {
            page.form(id: "resend", action: "\(base)/\(delivery.id)/resend", csrf: visit.csrf, fields: [], submit: t("resend"), submitID: "resend")
        }
        return page
    }
}

extension OperatorPages {
    func webhooks(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewPayments)
        let t = visit.language
        let failing = try await services.webhookDeliveries.list(merchant: nil, failingOnly: true)
        var page = Page(t("webhooks"))
        page.heading(t("failing_deliveries"))
        WebhookPages(site: site).table(failing, base: "/console/webhooks", t)(&page)
        return site.render(page, visit)
    }

    func delivery(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewPayments)
        guard let (delivery, attempts) = try await services.webhookDeliveries.attempts(try id(context), merchant: nil) else { throw PageError.notFound }
        let page = WebhookPages(site: site).detail(
            delivery, attempts, visit: visit, base: "/console/webhooks", canResend: visit.user.role.permissions.contains(.resendWebhooks), notice: notice)
        return site.render(page, visit)
    }

    func resend(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .resendWebhooks)
        _ = try await site.form(request, context, session: visit.session)
        let delivery = try id(context)
        guard try await services.webhookDeliveries.resend(delivery, merchant: nil) else { throw PageError.notFound }
        try await site.audit(visit, "console.webhook.resent", ["webhook_delivery": delivery])
        return try await self.delivery(request, context, notice: visit.language("resent"))
    }

    func suspend(_ request: Request, _ context: some ConsoleRequestContext, _ suspended: Bool) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageMerchants)
        _ = try await site.form(request, context, session: visit.session)
        guard let found = try await services.merchants.find(try id(context)),
            try await services.merchants.setSuspended(found.id, suspended, actor: visit.actor, source: visit.source)
        else { throw PageError.notFound }
        return try await merchant(request, context, notice: visit.language(suspended ? "suspended_done" : "resumed_done"))
    }

    /// Whether the merchant's payments with watched cards are refused or only flagged.
    func watchPolicy(_ request: Request, _ context: some ConsoleRequestContext, refuse: Bool) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageMerchants)
        _ = try await site.form(request, context, session: visit.session)
        guard let found = try await services.merchants.find(try id(context)),
            try await services.merchants.setRefusesWatchedCards(found.id, refuse, actor: visit.actor, source: visit.source)
        else { throw PageError.notFound }
        return try await merchant(request, context, notice: visit.language(refuse ? "watched_refused" : "watched_flagged"))
    }
}

extension DashboardPages {
    func delivery(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .viewWebhooks)
        guard let raw = context.parameters.get("id"),
            let (delivery, attempts) = try await services.webhookDeliveries.attempts(raw, merchant: try merchant(visit))
        else { throw PageError.notFound }
        let page = WebhookPages(site: site).detail(
            delivery, attempts, visit: visit, base: "/dashboard/webhooks/deliveries", canResend: visit.user.role.permissions.contains(.resendOwnWebhooks),
            notice: notice)
        return site.render(page, visit)
    }

    func resend(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .resendOwnWebhooks)
        _ = try await site.form(request, context, session: visit.session)
        guard let delivery = context.parameters.get("id"), try await services.webhookDeliveries.resend(delivery, merchant: try await activeMerchant(visit))
        else {
            throw PageError.notFound
        }
        try await site.audit(visit, "dashboard.webhook.resent", ["webhook_delivery": delivery])
        return try await self.delivery(request, context, notice: visit.language("resent"))
    }
}
