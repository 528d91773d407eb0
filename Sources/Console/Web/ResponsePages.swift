import Foundation
import Hummingbird
import KessaiCore
import Ledger
import Response

/// The window and the suspect of an exposure scope, as the response pages take them (query
/// parameters of the scope page, hidden fields of its forms).
struct ScopeParameters {
    static let names = ["from", "to", "instance", "host", "actor", "merchant", "source"]
    let values: [String: String]
    let query: ExposureScope.Query

    /// - Returns: nil when no window was asked for yet.
    /// - Throws: ``PageError/badForm`` for a window that is not one, ``PageError/cardNumber``.
    init?(_ fields: [String: String]) throws {
        var values: [String: String] = [:]
        for name in Self.names {
            guard let value = fields[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { continue }
            guard value.count <= 128 else { throw PageError.badForm }
            if CardNumberScan.containsCardNumber(value) { throw PageError.cardNumber }
            values[name] = value
        }
        guard values["from"] != nil || values["to"] != nil else { return nil }
        guard let from = values["from"].flatMap(Self.millis), let to = values["to"].flatMap(Self.millis), from < to else { throw PageError.badForm }
        var query = ExposureScope.Query(from: from, to: to)
        query.instance = values["instance"]
        query.host = values["host"]
        query.actor = values["actor"]
        query.merchant = values["merchant"]
        query.sourceAddress = values["source"]
        self.values = values
        self.query = query
    }

    /// A page's query parameters: none may hold a card number or a control character.
    static func queryFields(_ request: Request) throws -> [String: String] {
        var fields: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            let (key, value) = (String(key), String(value))
            if CardNumberScan.containsCardNumber(key) || CardNumberScan.containsCardNumber(value) { throw PageError.cardNumber }
            guard key.count <= 32, value.count <= 256, !(key + value).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw PageError.badForm }
            fields[key] = fields[key] ?? value
        }
        return fields
    }

    /// ISO 8601 or Unix seconds, as milliseconds.
    static func millis(_ text: String) -> Int64? {
        if let seconds = Int64(text) { return (0...100_000_000_000).contains(seconds) ? seconds * 1000 : nil }
        return ISO8601DateFormatter().date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    /// The same window and suspect as a query string (for links), with `extra` after them.
    func link(_ path: String, _ extra: [(String, String)] = []) -> String {
        var components = URLComponents()
        components.path = path
        components.queryItems = Self.names.compactMap { name in values[name].map { URLQueryItem(name: name, value: $0) } } + extra.map(URLQueryItem.init)
        return components.string ?? path
    }

    var hiddenFields: [Page.Field] {
        Self.names.compactMap { name in values[name].map { Page.Field(name: name, label: name, type: "hidden", value: $0, maxLength: 128) } }
    }
}

extension OperatorPages {
    /// Breach response (security role): the exposure scope for a window and a suspect, per
    /// merchant, over the verified ledger; links to each merchant's letters and the Commission
    /// report drafts; the form that puts the exposed cards on the watch list.
    func response(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil, error: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let t = visit.language
        guard let compute = services.exposureScope else { throw PageError.notFound }
        let fields = try ScopeParameters.queryFields(request)
        let parameters = try ScopeParameters(fields)
        var page = Page(t("response"))
        if let notice { page.notice(notice) }
        if let error { page.error(error) }
        page.paragraph(t("response_help"))
        page.form(
            id: "scope", action: "/console/response", csrf: "",
            fields: ScopeParameters.names.map { name in
                Page.Field(
                    name: name, label: t("scope_\(name)"), value: parameters?.values[name], required: name == "from" || name == "to", maxLength: 128)
            } + [.init(name: "incident", label: t("incident_optional"), value: fields["incident"], required: false, maxLength: 64)],
            submit: t("scope_compute"), submitID: "scope-submit", method: "get")
        guard let parameters else { return site.render(page, visit) }
        let scope = try await compute(parameters.query)
        var audited = Dictionary(uniqueKeysWithValues: parameters.values.map { ("filter_\($0.key)", $0.value) })
        audited["merchants"] = String(scope.merchants.count)
        try await site.audit(visit, "console.scope.viewed", audited)
        let statement = ScopeReport.statement(scope)
        if scope.exact { page.notice(statement, id: "statement") } else { page.error(statement) }
        page.facts(
            [
                (t("scope_checkpoint"), scope.checkpoint.map { "\($0.size) / \($0.root.prefix(8).map { String(format: "%02x", $0) }.joined())…" } ?? "-"),
                (t("scope_cards"), String(scope.merchants.reduce(0) { $0 + $1.readInClear.count })),
                (t("scope_codes"), String(scope.merchants.reduce(0) { $0 + $1.securityCodesInReach.count })),
                (t("scope_ciphertext"), String(scope.merchants.reduce(0) { $0 + $1.ciphertextOnly })),
            ], id: "scope-totals")
        page.table(
            id: "scope-merchants", headers: [t("merchant"), t("scope_cards"), t("scope_reads"), t("scope_codes"), t("scope_ciphertext")],
            rows: scope.merchants.map { merchant in
                (
                    id: merchant.merchant, link: nil,
                    cells: [
                        merchant.merchant, String(merchant.readInClear.count), String(merchant.readInClear.values.reduce(0) { $0 + $1.count }),
                        String(merchant.securityCodesInReach.count), String(merchant.ciphertextOnly),
                    ]
                )
            })
        let exposed = scope.merchants.filter { !$0.readInClear.isEmpty }
        if !exposed.isEmpty {
            page.heading(t("scope_notices"))
            for merchant in exposed {
                page.link(
                    "\(merchant.merchant): \(t("letter_ja"))", href: parameters.link("/console/response/letter", [("of", merchant.merchant), ("lang", "ja")]),
                    id: "letter-ja-\(merchant.merchant)")
                page.link(
                    "\(merchant.merchant): \(t("letter_en"))", href: parameters.link("/console/response/letter", [("of", merchant.merchant), ("lang", "en")]),
                    id: "letter-en-\(merchant.merchant)")
            }
            let incident = fields["incident"].map { [("incident", $0)] } ?? []
            page.link(
                t("commission_preliminary"), href: parameters.link("/console/response/commission", [("final", "0")] + incident), id: "commission-preliminary")
            page.link(t("commission_final"), href: parameters.link("/console/response/commission", [("final", "1")] + incident), id: "commission-final")
            page.heading(t("watch_cards"))
            page.paragraph(t("watch_cards_help"))
            page.form(
                id: "watch", action: "/console/response/watch", csrf: visit.csrf,
                fields: parameters.hiddenFields + [.init(name: "incident", label: t("incident_optional"), required: false, maxLength: 64)]
                    + ConsoleSite.stepUpFields(t), submit: t("watch_cards"), submitID: "watch-submit")
        }
        return site.render(page, visit)
    }

    /// Puts the scope's cards read in clear on the watch list (step-up; a ledger entry).
    func watchCards(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let compute = services.exposureScope, let parameters = try ScopeParameters(form.fields) else { throw PageError.badForm }
        let incident = form.fields["incident"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let incident {
            guard incident.hasPrefix("inc_"), incident.utf8.count <= 64, try await services.incidents.find(incident) != nil else { throw PageError.badForm }
        }
        guard try await site.stepUp(visit, form, action: "cards.watch") else { return try await response(request, context, error: t("step_up_refused")) }
        let scope = try await compute(parameters.query)
        guard scope.exact else { return try await response(request, context, error: ScopeReport.statement(scope)) }
        let listing = try await WatchList(database: services.database, ledger: services.ledger, clock: services.clock)
            .add(scope, incident: incident, actor: visit.actor, source: visit.source)
        return try await response(request, context, notice: "\(t("watch_cards_done")): \(listing.added) (+\(listing.alreadyListed))")
    }

    /// A merchant's letter to its customers, in Japanese or English, drafted from the scope.
    func letter(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let fields = try ScopeParameters.queryFields(request)
        guard let compute = services.exposureScope, let parameters = try ScopeParameters(fields), let of = fields["of"], of.count <= 64 else {
            throw PageError.badForm
        }
        let japanese = fields["lang"] != "en"
        let scope = try await compute(parameters.query)
        guard let merchant = scope.merchants.first(where: { $0.merchant == of }), !merchant.readInClear.isEmpty else { throw PageError.notFound }
        let name = try await services.merchants.find(of)?.name ?? of
        let text = Notices.letter(
            merchant: name, from: parameters.query.from, to: parameters.query.to, cards: merchant.readInClear.count,
            codes: !merchant.securityCodesInReach.isEmpty, contact: visit.language("letter_contact"), japanese: japanese)
        try await site.audit(visit, "console.letter.viewed", ["merchant": of, "language": japanese ? "ja" : "en"])
        return site.render(Self.document(text, id: "letter", language: japanese ? "ja" : "en"), visit)
    }

    /// The report draft for the Personal Information Protection Commission (速報 or 確報).
    func commission(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let fields = try ScopeParameters.queryFields(request)
        guard let compute = services.exposureScope, let parameters = try ScopeParameters(fields) else { throw PageError.badForm }
        let scope = try await compute(parameters.query)
        let exposed = scope.merchants.filter { !$0.readInClear.isEmpty }
        // Due dates count from the incident's detection; without one, from now.
        var detected = services.clock.now().unixSeconds
        if let id = fields["incident"] {
            guard let incident = try await services.incidents.find(id) else { throw PageError.notFound }
            detected = incident.openedAt
        }
        let text = Notices.commissionReport(
            final: fields["final"] == "1", detectedAt: detected, unauthorizedAccess: fields["unauthorized_access"] != "0", scope: scope,
            merchants: exposed.count,
            people: exposed.reduce(0) { $0 + $1.readInClear.count }, codes: scope.merchants.reduce(0) { $0 + $1.securityCodesInReach.count },
            personalData: scope.merchants.reduce(0) { $0 + $1.personalData.count })
        try await site.audit(visit, "console.commission_report.viewed", ["final": fields["final"] == "1" ? "true" : "false"])
        return site.render(Self.document(text, id: "commission", language: "ja"), visit)
    }

    /// A drafted document (headings, lists, paragraphs) as a page; every value escaped.
    static func document(_ markdown: String, id: String, language: String) -> Page {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var page = Page(lines.first.map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : $0 } ?? id)
        var items: [String] = []
        var lists = 0
        func flush() {
            guard !items.isEmpty else { return }
            lists += 1
            page.list(items, id: "\(id)-list-\(lists)")
            items = []
        }
        for line in lines.dropFirst() {
            if line.hasPrefix("- ") {
                items.append(String(line.dropFirst(2)))
                continue
            }
            flush()
            if line.hasPrefix("## ") { page.heading(String(line.dropFirst(3))) } else { page.paragraph(line) }
        }
        flush()
        page.sections.insert(
            ["document": ["id": id, "lang": language, "draft": "下書き — 送付前に確認し、[ ] を埋めてください / Draft: review and fill in the [ ] before sending"]], at: 0)
        return page
    }
}
