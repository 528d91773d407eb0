import Foundation
import Hummingbird
import KessaiCore
import Ledger
import Payments

extension OperatorPages {
    func payments(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewPayments)
        let t = visit.language
        let query = String((request.uri.queryParameters.get("q") ?? "").prefix(64)).trimmingCharacters(in: .whitespaces)
        if CardNumberScan.containsCardNumber(query) { throw PageError.cardNumber }
        let parameters = request.uri.queryParameters
        if parameters.contains(where: { CardNumberScan.containsCardNumber($0.value) || CardNumberScan.containsCardNumber($0.key) }) {
            throw PageError.cardNumber
        }
        func value(_ name: String) -> String? {
            guard let text = parameters.get(name)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return String(text.prefix(40))
        }
        let status = value("status").flatMap { PaymentIntent.Status(rawValue: $0) }?.rawValue
        var filters = PaymentSearch.Filters()
        filters.brand = value("brand").flatMap { CardBrand(rawValue: $0) }?.rawValue
        filters.amount = value("amount").flatMap { Int64($0) }.flatMap { (0...1_000_000_000_000).contains($0) ? $0 : nil }
        filters.from = value("from").flatMap(Self.day)
        filters.to = value("to").flatMap(Self.day).map { $0 + 86_400 }
        let rows = try await search.search(query, status: status, merchant: nil, filters: filters)
        try await site.audit(
            visit, "console.payments.searched",
            [
                "query": query.isEmpty ? "-" : query, "results": String(rows.count),
                "filters": [status, filters.brand, filters.amount.map(String.init), filters.from.map(String.init), filters.to.map(String.init)]
                    .map { $0 ?? "-" }.joined(separator: " "),
            ])
        var page = Page(t("payments"))
        page.form(
            id: "search", action: "/console/payments", csrf: "",
            fields: [
                .init(name: "q", label: t("query"), value: query, required: false, maxLength: 64),
                .init(name: "status", label: t("status"), value: status ?? "", options: [""] + PaymentIntent.Status.allCases.map(\.rawValue)),
                .init(name: "brand", label: t("card"), value: filters.brand ?? "", options: [""] + CardBrand.allCases.map(\.rawValue)),
                .init(name: "amount", label: t("amount"), value: filters.amount.map(String.init), required: false, maxLength: 12),
                .init(name: "from", label: t("from_day"), type: "date", value: filters.from != nil ? value("from") : nil, required: false, maxLength: 10),
                .init(name: "to", label: t("to_day"), type: "date", value: filters.to != nil ? value("to") : nil, required: false, maxLength: 10),
            ],
            submit: t("search"), method: "get")
        page.table(
            id: "payments", headers: [t("id"), t("merchant"), t("amount"), t("status"), t("card"), t("created")],
            rows: rows.map {
                (
                    id: $0.id, link: "/console/payments/\($0.id)",
                    cells: [
                        $0.id, $0.merchant, "\($0.amount) \($0.currency.uppercased())", $0.status,
                        [$0.brand, $0.last4.map { "•••• \($0)" }].compactMap { $0 }.joined(separator: " "), ConsoleSite.time($0.created),
                    ]
                )
            })
        return site.render(page, visit)
    }

    /// A day (`YYYY-MM-DD`, JST) as the Unix time it begins.
    static func day(_ text: String) -> Int64? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (2000...2100).contains(parts[0]), (1...12).contains(parts[1]), (1...31).contains(parts[2]),
            let date = ISO8601DateFormatter().date(from: String(format: "%04d-%02d-%02dT00:00:00+09:00", parts[0], parts[1], parts[2]))
        else { return nil }
        return Int64(date.timeIntervalSince1970)
    }

    func payment(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil, error: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewPayments)
        guard let intentID = PaymentIntentID(parsing: try id(context)), let intent = try await services.payments.retrieve(intentID) else {
            throw PageError.notFound
        }
        try await site.audit(visit, "console.payment.viewed", ["payment_intent": intent.id.rawValue, "merchant": intent.merchant.rawValue])
        var page = try await PaymentDetail.page(intent, search: search, t: visit.language)
        if let notice { page.sections.insert(["notice": ["text": notice, "id": "notice"]], at: 0) }
        if let error { page.sections.insert(["error": ["text": error]], at: 0) }
        if visit.user.role.permissions.contains(.refund), intent.status == .succeeded, intent.amountRefunded < intent.amountReceived {
            RefundForm.add(to: &page, action: "/console/payments/\(intent.id)/refund", csrf: visit.csrf, visit.language)
        }
        return site.render(page, visit)
    }

    func refund(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .refund)
        let form = try await site.form(request, context, session: visit.session)
        guard let intentID = PaymentIntentID(parsing: try id(context)), let intent = try await services.payments.retrieve(intentID) else {
            throw PageError.notFound
        }
        let (notice, error) = try await RefundForm.perform(form, intent: intent, visit: visit, site: site, audit: "console.refund")
        return try await payment(request, context, notice: notice, error: error)
    }

    func ledger(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewLedger)
        let t = visit.language
        let parameters = request.uri.queryParameters
        if parameters.contains(where: { CardNumberScan.containsCardNumber($0.value) || CardNumberScan.containsCardNumber($0.key) }) {
            throw PageError.cardNumber
        }
        func filter(_ name: String) -> String? {
            guard let value = parameters.get(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return String(value.prefix(128))
        }
        let action = filter("action")
        let actor = filter("actor")
        let merchant = filter("merchant")
        let token = filter("token")
        if [action, actor, merchant, token].contains(where: { $0.map(CardNumberScan.containsCardNumber) ?? false }) { throw PageError.cardNumber }
        let now = Int64(services.clock.now().timeIntervalSince1970 * 1000)
        let from = filter("from").flatMap(Self.day).map { $0 * 1000 } ?? now - 7 * 86_400_000
        let to = filter("to").flatMap(Self.day).map { ($0 + 86_400) * 1000 } ?? now + 60_000
        var query = LedgerQuery(from: from, to: to, action: action, actorID: actor, merchant: merchant, token: token)
        query.limit = 200
        query.newestFirst = true
        try await site.audit(
            visit, "console.ledger.viewed",
            ["action": action ?? "*", "actor": actor ?? "*", "filter_merchant": merchant ?? "*", "filter_token": token ?? "*", "window": "\(from)-\(to)"])
        let rows = try await services.ledger.query(query)
        let head = try await services.ledger.head()
        var page = Page(t("ledger"))
        page.form(
            id: "export-ledger", action: "/console/ledger/export", csrf: visit.csrf,
            fields: [.init(name: "days", label: t("export_days"), value: "7", maxLength: 2)] + ConsoleSite.stepUpFields(t), submit: t("export"),
            submitID: "export")
        page.facts([(t("ledger_size"), String(head.size)), ("root", Hex.encode(head.root))], id: "ledger-head")
        try await verificationSection(&page, visit)
        page.form(
            id: "ledger-search", action: "/console/ledger", csrf: "",
            fields: [
                .init(name: "action", label: t("action"), value: action, required: false, maxLength: 128),
                .init(name: "actor", label: t("actor"), value: actor, required: false, maxLength: 128),
                .init(name: "merchant", label: t("merchant"), value: merchant, required: false, maxLength: 128),
                .init(name: "token", label: t("token_filter"), value: token, required: false, maxLength: 128),
                .init(
                    name: "from", label: t("from_day"), type: "date", value: filter("from").flatMap(Self.day) != nil ? filter("from") : nil, required: false,
                    maxLength: 10),
                .init(
                    name: "to", label: t("to_day"), type: "date", value: filter("to").flatMap(Self.day) != nil ? filter("to") : nil, required: false,
                    maxLength: 10),
            ], submit: t("search"), method: "get")
        page.table(
            id: "ledger", headers: ["#", t("time"), t("action"), t("actor"), t("objects"), t("outcome"), t("source")],
            rows: rows.suffix(200).reversed().map {
                (
                    id: String($0.seq), link: nil,
                    cells: [
                        String($0.seq), ConsoleSite.time($0.entry.time / 1000), $0.entry.action, "\($0.entry.actor.kind.rawValue):\($0.entry.actor.id)",
                        $0.entry.objects.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "), $0.entry.outcome,
                        $0.entry.source ?? "",
                    ]
                )
            })
        return site.render(page, visit)
    }
}

/// A payment's page: what it is, its card (brand, last 4, expiry), and its timeline.
enum PaymentDetail {
    static func page(_ intent: PaymentIntent, search: PaymentSearch, t: Language) async throws -> Page {
        var page = Page(intent.id.rawValue)
        var facts = [
            (t("id"), intent.id.rawValue), (t("merchant"), intent.merchant.rawValue), (t("amount"), "\(intent.amount) \(intent.currency.code.uppercased())"),
            (t("status"), intent.status.rawValue), (t("refunded"), String(intent.amountRefunded)), (t("created"), ConsoleSite.time(intent.created.unixSeconds)),
        ]
        if let method = intent.paymentMethod, let card = try await search.card(method.rawValue) {
            facts.append((t("card"), "\(card.brand) •••• \(card.last4) \(card.expiry)"))
        }
        page.facts(facts, id: "payment")
        page.heading(t("timeline"))
        let lines = try await search.timeline(intent.id.rawValue)
        page.list(lines.map { "\(ConsoleSite.time($0.0)) \($0.1)" }, id: "timeline", ordered: true)
        return page
    }
}
