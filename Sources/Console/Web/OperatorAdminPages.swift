import HTTPTypes
import Hummingbird
import KessaiCore
import Merchants

extension OperatorPages {
    func operators(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageOperators)
        let t = visit.language
        var page = Page(t("operators"))
        extra?(&page)
        let users = try await services.accounts.list(.console)
        page.table(
            id: "operators", headers: [t("email"), t("role"), t("status")],
            rows: users.map { (id: $0.id, link: nil, cells: [$0.email, $0.role.rawValue, $0.status.rawValue]) })
        page.heading(t("create"))
        page.form(
            id: "create-operator", action: "/console/operators", csrf: visit.csrf,
            fields: [
                .init(name: "email", label: t("email"), type: "email"),
                .init(name: "role", label: t("role"), value: "viewer", options: ConsoleRole.roles(of: .console).map(\.rawValue)),
            ], submit: t("create"))
        for user in users where user.id != visit.user.id && user.status != .disabled {
            page.heading(user.email)
            page.form(
                id: "role-\(user.id)", action: "/console/operators/\(user.id)/role", csrf: visit.csrf,
                fields: [.init(name: "role", label: t("role"), value: user.role.rawValue, options: ConsoleRole.roles(of: .console).map(\.rawValue))],
                submit: t("change_role"), submitID: "change-role")
            page.form(
                id: "disable-\(user.id)", action: "/console/operators/\(user.id)/disable", csrf: visit.csrf, fields: [], submit: t("disable"),
                submitID: "disable")
            page.form(
                id: "reset-\(user.id)", action: "/console/operators/\(user.id)/reset-mfa", csrf: visit.csrf, fields: ConsoleSite.stepUpFields(t),
                submit: t("reset_mfa"),
                submitID: "reset-mfa")
        }
        return site.render(page, visit)
    }

    func createOperator(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageOperators)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let email = try form.text("email")
        guard let role = ConsoleRole(rawValue: form.fields["role"] ?? ""), role.app == .console else {
            return try await operators(request, context) { $0.error(t("invalid_role")) }
        }
        guard AccountStore.isEmail(email.lowercased()) else { return try await operators(request, context) { $0.error(t("invalid_email")) } }
        if role == .admin {
            // Dual control: a new admin exists only once a second admin approves.
            _ = try await services.approvals.request(
                .createAdmin, subject: ["email": email.lowercased(), "role": role.rawValue], by: visit.user, source: visit.source)
            return try await operators(request, context) { $0.notice(t("admin_requested")) }
        }
        do {
            let (_, token) = try await services.accounts.invite(.console, email: email, role: role, merchant: nil, actor: visit.actor, source: visit.source)
            let url = services.enrollmentURL(.console, token: token)
            return try await operators(request, context) { $0.code(url, id: "enrollment-url", label: t("enrollment_url")) }
        } catch let error as ConsoleError {
            return try await operators(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
    }

    func disableOperator(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageOperators)
        _ = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let target = try id(context)
        guard let user = try await services.accounts.find(id: target), user.app == .console else { throw PageError.notFound }
        guard user.id != visit.user.id else { return try await operators(request, context) { $0.error(t("cannot_disable_self")) } }
        try await services.accounts.disable(user.id, actor: visit.actor, source: visit.source)
        return try await operators(request, context) { $0.notice(t("disabled")) }
    }

    func requestMFAReset(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageOperators)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let user = try await services.accounts.find(id: try id(context)), user.app == .console else { throw PageError.notFound }
        guard try await site.stepUp(visit, form, action: Approvals.Action.resetMFA.rawValue) else {
            return try await operators(request, context) { $0.error(t("step_up_refused")) }
        }
        _ = try await services.approvals.request(.resetMFA, subject: ["user": user.id, "email": user.email], by: visit.user, source: visit.source)
        return try await operators(request, context) { $0.notice(t("reset_requested")) }
    }

    // MARK: Approvals (dual control)

    func approvals(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .approve)
        let t = visit.language
        var page = Page(t("approvals"))
        extra?(&page)
        let pending = try await services.approvals.pending()
        page.table(
            id: "approvals", headers: [t("id"), t("action"), t("objects"), t("requested_by"), t("created")],
            rows: pending.map {
                (
                    id: $0.id, link: nil,
                    cells: [
                        $0.id, $0.action.rawValue, $0.subject.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "), $0.requestedBy,
                        ConsoleSite.time($0.createdAt),
                    ]
                )
            },
            rowForms: Dictionary(
                uniqueKeysWithValues: pending.map {
                    (
                        $0.id,
                        Page.form(
                            id: "approve-\($0.id)", action: "/console/approvals/\($0.id)/approve", csrf: visit.csrf, fields: ConsoleSite.stepUpFields(t),
                            submit: t("approve"), submitID: "approve", formClass: "approve-form")
                    )
                }))
        return site.render(page, visit)
    }

    func approve(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .approve)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let approvalID = try id(context)
        guard let pending = try await services.approvals.pending(approvalID) else {
            return try await approvals(request, context) { $0.error(t("not_pending")) }
        }
        // Operator actions need an admin to approve them; key rolls and exports, admin or security.
        if ![.rollMerchantKeys, .exportLedger, .exportCards].contains(pending.action) && !visit.user.role.permissions.contains(.manageOperators) {
            throw PageError.forbidden
        }
        if pending.action == .exportCards && !visit.user.role.permissions.contains(.incidents) { throw PageError.forbidden }
        guard pending.requestedBy != visit.user.id else { return try await approvals(request, context) { $0.error(t("own_request")) } }
        guard try await site.stepUp(visit, form, action: "approve \(pending.action.rawValue)") else {
            return try await approvals(request, context) { $0.error(t("step_up_refused")) }
        }
        let approved: Approvals.Request
        do { approved = try await services.approvals.approve(approvalID, by: visit.user, source: visit.source) } catch let error as ConsoleError {
            return try await approvals(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
        switch approved.action {
        case .createAdmin:
            do {
                let (_, token) = try await services.accounts.invite(
                    .console, email: approved.subject["email"] ?? "", role: .admin, merchant: nil, actor: visit.actor, source: visit.source)
                let url = services.enrollmentURL(.console, token: token)
                return try await approvals(request, context) {
                    $0.notice(t("approved"))
                    $0.code(url, id: "enrollment-url", label: t("enrollment_url"))
                }
            } catch let error as ConsoleError {
                return try await approvals(request, context) { $0.error(t(OperatorPages.message(error))) }
            }
        case .resetMFA:
            let token = try await services.accounts.resetMFA(approved.subject["user"] ?? "", actor: visit.actor, source: visit.source)
            let url = services.enrollmentURL(.console, token: token)
            return try await approvals(request, context) {
                $0.notice(t("approved"))
                $0.code(url, id: "enrollment-url", label: t("enrollment_url"))
            }
        case .promoteAdmin:
            try await services.accounts.changeRole(approved.subject["user"] ?? "", to: .admin, actor: visit.actor, source: visit.source)
            return try await approvals(request, context) { $0.notice(t("approved")) }
        case .exportCards:
            guard let export = services.exportCards else { throw PageError.notFound }
            let (file, count) = try await export(approved.subject, approved.id, visit.actor, visit.source)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json", .contentDisposition: "attachment; filename=\"kessai-cards-\(approved.id).hpke.json\"",
                    .cacheControl: "no-store", HTTPField.Name("Kessai-Cards")!: String(count),
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: file)))
        case .exportLedger:
            return try await LedgerExport.response(site: site, visit: visit, days: Int(approved.subject["days"] ?? "") ?? 7)
        case .rollMerchantKeys:
            let keys = try await services.merchants.rollKeys(for: MerchantID(rawValue: approved.subject["merchant"] ?? ""), actor: visit.actor)
            return try await approvals(request, context) {
                $0.notice(t("approved"))
                $0.code(keys.secretKey.exposed, id: "new-secret-key", label: t("new_secret"))
            }
        }
    }
}
