import Hummingbird
import KessaiCore
import Ledger
import Merchants
import Payments
import Sentinel

/// The operator console's pages: home, merchants, payments, the ledger, operators, approvals.
/// No page shows a card number or a security code, and none can decrypt one.
struct OperatorPages: Sendable {
    let site: ConsoleSite
    var services: ConsoleServices { site.services }
    var search: PaymentSearch { PaymentSearch(database: services.database) }

    func register<Context: ConsoleRequestContext>(on group: RouterGroup<Context>) {
        group.get("") { request, context in try await home(request, context) }
        group.get("merchants") { request, context in try await merchants(request, context) }
        group.post("merchants") { request, context in try await createMerchant(request, context) }
        group.get("merchants/:id") { request, context in try await merchant(request, context) }
        group.post("merchants/:id/roll-keys") { request, context in try await requestKeyRoll(request, context) }
        group.post("merchants/:id/users") { request, context in try await inviteMerchantUser(request, context) }
        group.post("merchants/:id/suspend") { request, context in try await suspend(request, context, true) }
        group.post("merchants/:id/resume") { request, context in try await suspend(request, context, false) }
        group.post("merchants/:id/watch-policy/refuse") { request, context in try await watchPolicy(request, context, refuse: true) }
        group.post("merchants/:id/watch-policy/flag") { request, context in try await watchPolicy(request, context, refuse: false) }
        group.get("webhooks") { request, context in try await webhooks(request, context) }
        group.get("webhooks/:id") { request, context in try await delivery(request, context) }
        group.post("webhooks/:id/resend") { request, context in try await resend(request, context) }
        group.get("payments") { request, context in try await payments(request, context) }
        group.get("payments/:id") { request, context in try await payment(request, context) }
        group.post("payments/:id/refund") { request, context in try await refund(request, context) }
        group.get("ledger") { request, context in try await ledger(request, context) }
        group.get("operators") { request, context in try await operators(request, context) }
        group.post("operators") { request, context in try await createOperator(request, context) }
        group.post("operators/:id/disable") { request, context in try await disableOperator(request, context) }
        group.post("operators/:id/reset-mfa") { request, context in try await requestMFAReset(request, context) }
        group.post("operators/:id/role") { request, context in try await changeRole(request, context) }
        group.post("ledger/export") { request, context in try await requestExport(request, context) }
        group.post("ledger/verify") { request, context in try await verifyLedger(request, context) }
        group.get("approvals") { request, context in try await approvals(request, context) }
        group.get("incidents") { request, context in try await incidents(request, context) }
        group.post("incidents/:id/:step") { request, context in try await incidentStep(request, context) }
        group.post("files/baseline") { request, context in try await rebaseline(request, context) }
        group.post("exports/cards") { request, context in try await requestCardExport(request, context) }
        group.get("response") { request, context in try await response(request, context) }
        group.post("response/watch") { request, context in try await watchCards(request, context) }
        group.get("response/letter") { request, context in try await letter(request, context) }
        group.get("response/commission") { request, context in try await commission(request, context) }
        group.post("approvals/:id/approve") { request, context in try await approve(request, context) }
    }

    /// The routes and the permission each needs (the role matrix test walks this).
    static let routes: [(method: String, path: String, permission: Permission?)] = [
        ("GET", "", nil), ("GET", "merchants", .viewMerchants), ("POST", "merchants", .manageMerchants), ("GET", "merchants/:id", .viewMerchants),
        ("POST", "merchants/:id/roll-keys", .manageMerchants), ("POST", "merchants/:id/users", .manageMerchants),
        ("POST", "merchants/:id/suspend", .manageMerchants), ("POST", "merchants/:id/resume", .manageMerchants),
        ("POST", "merchants/:id/watch-policy/refuse", .manageMerchants), ("POST", "merchants/:id/watch-policy/flag", .manageMerchants),
        ("GET", "webhooks", .viewPayments),
        ("GET", "webhooks/:id", .viewPayments), ("POST", "webhooks/:id/resend", .resendWebhooks), ("GET", "payments", .viewPayments),
        ("GET", "payments/:id", .viewPayments), ("POST", "payments/:id/refund", .refund), ("GET", "ledger", .viewLedger),
        ("GET", "operators", .manageOperators), ("POST", "operators", .manageOperators), ("POST", "operators/:id/disable", .manageOperators),
        ("POST", "operators/:id/reset-mfa", .manageOperators),
        ("POST", "operators/:id/role", .manageOperators), ("POST", "ledger/export", .viewLedger), ("POST", "ledger/verify", .viewLedger),
        ("GET", "approvals", .approve),
        ("GET", "incidents", .incidents),
        ("POST", "incidents/:id/acknowledge", .incidents), ("POST", "incidents/:id/resolve", .incidents), ("POST", "files/baseline", .incidents),
        ("POST", "exports/cards", .incidents), ("GET", "response", .incidents), ("POST", "response/watch", .incidents),
        ("GET", "response/letter", .incidents), ("GET", "response/commission", .incidents),
        ("POST", "approvals/:id/approve", .approve),
    ]

    func id(_ context: some ConsoleRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.utf8.count <= 64, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw PageError.notFound }
        return id
    }

    // MARK: Home

    func home(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: nil)
        let t = visit.language
        let head = try await services.ledger.head()
        let checkpoint = try await services.ledger.checkpoints().last
        let verified = try await services.verifications.latest()
        let locked = try await search.lockedAccounts(now: services.clock.now().unixSeconds)
        let pending = try await services.approvals.pending().count
        let open = try await services.incidents.openCounts()
        var page = Page(t("home"))
        page.facts(
            [
                (t("ledger_size"), String(head.size)),
                (t("last_checkpoint"), checkpoint.map { "#\($0.size) \(ConsoleSite.time($0.time / 1000))" } ?? t("none")),
                (t("last_verified"), Self.verificationLine(verified, t)),
                (t("locked_accounts"), String(locked)), (t("pending_approvals"), String(pending)),
                (
                    t("open_incidents"),
                    open.isEmpty ? t("none") : Incident.Severity.allCases.reversed().map { "\($0.rawValue) \(open[$0] ?? 0)" }.joined(separator: ", ")
                ),
            ], id: "health")
        return site.render(page, visit)
    }

    // MARK: Merchants

    func merchants(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewMerchants)
        let t = visit.language
        var page = Page(t("merchants"))
        // Search: a part of the id, code or name (any case); a card number is refused, as in every search.
        let query = String((request.uri.queryParameters.get("q") ?? "").prefix(100)).trimmingCharacters(in: .whitespaces)
        if CardNumberScan.containsCardNumber(query) { throw PageError.cardNumber }
        let summaries = try await services.merchants.list().filter {
            query.isEmpty || [$0.merchant.id.rawValue, $0.merchant.code, $0.merchant.name].contains { $0.localizedCaseInsensitiveContains(query) }
        }
        page.form(
            id: "search", action: "/console/merchants", csrf: "",
            fields: [.init(name: "q", label: t("merchant_query"), value: query, required: false, maxLength: 100)], submit: t("search"), method: "get")
        page.table(
            id: "merchants", headers: [t("id"), t("code_label"), t("name"), t("active_keys")],
            rows: summaries.map {
                (
                    id: $0.merchant.id.rawValue, link: "/console/merchants/\($0.merchant.id)",
                    cells: [$0.merchant.id.rawValue, $0.merchant.code, $0.merchant.name, $0.activeKeys.joined(separator: " ")]
                )
            })
        if visit.user.role.permissions.contains(.manageMerchants) {
            page.heading(t("create"))
            page.form(
                id: "create-merchant", action: "/console/merchants", csrf: visit.csrf, fields: [.init(name: "name", label: t("name"), maxLength: 100)],
                submit: t("create"))
        }
        return site.render(page, visit)
    }

    func createMerchant(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageMerchants)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let (merchant, keys): (Merchant, IssuedKeys)
        do { (merchant, keys) = try await services.merchants.create(name: try form.text("name", maximum: 100), actor: visit.actor) } catch is MerchantsError {
            throw PageError.badForm
        }
        var page = Page(merchant.name)
        page.facts([(t("id"), merchant.id.rawValue), (t("code_label"), merchant.code)], id: "merchant")
        page.code(keys.secretKey.exposed, id: "new-secret-key", label: t("new_secret"))
        page.link(t("merchants"), href: "/console/merchants/\(merchant.id)", id: "continue")
        return site.render(page, visit)
    }

    func merchant(
        _ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil, extra: ((inout Page) -> Void)? = nil
    ) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewMerchants)
        let t = visit.language
        guard let found = try await services.merchants.find(try id(context)) else { throw PageError.notFound }
        var page = Page(found.name)
        if let notice { page.notice(notice) }
        extra?(&page)
        page.facts(
            [
                (t("id"), found.id.rawValue), (t("code_label"), found.code), (t("created"), ConsoleSite.time(found.created.unixSeconds)),
                (t("status"), found.suspendedAt.map { "\(t("suspended")) \(ConsoleSite.time($0))" } ?? t("active")),
                (t("watched_cards"), t(found.refusesWatchedCards ? "watched_refused" : "watched_flagged")),
            ], id: "merchant")
        if visit.user.role.permissions.contains(.manageMerchants) {
            let suspended = found.suspendedAt != nil
            page.form(
                id: suspended ? "resume" : "suspend", action: "/console/merchants/\(found.id)/\(suspended ? "resume" : "suspend")", csrf: visit.csrf,
                fields: [],
                submit: t(suspended ? "resume" : "suspend"), submitID: suspended ? "resume" : "suspend")
            let refuse = !found.refusesWatchedCards
            page.form(
                id: "watch-policy", action: "/console/merchants/\(found.id)/watch-policy/\(refuse ? "refuse" : "flag")", csrf: visit.csrf, fields: [],
                submit: t(refuse ? "watched_refuse" : "watched_flag"), submitID: "watch-policy-submit")
        }
        let users = try await services.accounts.list(.dashboard, merchant: found.id)
        page.heading(t("users"))
        page.table(
            id: "users", headers: [t("email"), t("role"), t("status")],
            rows: users.map { (id: $0.id, link: nil, cells: [$0.email, $0.role.rawValue, $0.status.rawValue]) })
        if visit.user.role.permissions.contains(.manageMerchants) {
            page.heading(t("invite"))
            page.form(
                id: "invite-user", action: "/console/merchants/\(found.id)/users", csrf: visit.csrf,
                fields: [
                    .init(name: "email", label: t("email"), type: "email"),
                    .init(name: "role", label: t("role"), value: "owner", options: ConsoleRole.roles(of: .dashboard).map(\.rawValue)),
                ],
                submit: t("invite"))
            page.heading(t("roll_keys"))
            page.paragraph(t("step_up"))
            page.form(
                id: "roll-keys", action: "/console/merchants/\(found.id)/roll-keys", csrf: visit.csrf, fields: ConsoleSite.stepUpFields(t),
                submit: t("roll_keys"))
        }
        return site.render(page, visit)
    }

    func requestKeyRoll(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageMerchants)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let found = try await services.merchants.find(try id(context)) else { throw PageError.notFound }
        guard try await site.stepUp(visit, form, action: Approvals.Action.rollMerchantKeys.rawValue) else {
            return try await merchant(request, context) { $0.error(t("step_up_refused")) }
        }
        _ = try await services.approvals.request(.rollMerchantKeys, subject: ["merchant": found.id.rawValue], by: visit.user, source: visit.source)
        return try await merchant(request, context, notice: t("roll_requested"))
    }

    func inviteMerchantUser(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageMerchants)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let found = try await services.merchants.find(try id(context)) else { throw PageError.notFound }
        guard let role = ConsoleRole(rawValue: form.fields["role"] ?? ""), role.app == .dashboard else {
            return try await merchant(request, context) { $0.error(t("invalid_role")) }
        }
        do {
            let (_, token) = try await services.accounts.invite(
                .dashboard, email: try form.text("email"), role: role, merchant: found.id, actor: visit.actor, source: visit.source)
            let url = services.enrollmentURL(.dashboard, token: token)
            return try await merchant(request, context) { $0.code(url, id: "enrollment-url", label: t("enrollment_url")) }
        } catch let error as ConsoleError {
            return try await merchant(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
    }

    static func message(_ error: ConsoleError) -> String {
        switch error {
        case .invalidEmail: "invalid_email"
        case .emailTaken: "email_taken"
        case .invalidRole: "invalid_role"
        case .ownRequest: "own_request"
        case .notPending: "not_pending"
        case .cannotDisableSelf: "cannot_disable_self"
        case .lastOwner: "last_owner"
        case .stepUpRefused: "step_up_refused"
        case .notFound: "not_found"
        case .forbidden: "forbidden"
        default: "bad_input"
        }
    }
}
