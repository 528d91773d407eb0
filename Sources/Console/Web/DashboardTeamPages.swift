import Hummingbird
import KessaiCore
import Merchants

/// A merchant's team, by its owners: invite, another role, access ended. Only the merchant's own
/// members are found; nobody changes their own account; the team keeps an active owner.
extension DashboardPages {
    func team(_ request: Request, _ context: some ConsoleRequestContext, extra: ((inout Page) -> Void)? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageTeam)
        let t = visit.language
        var page = Page(t("team"))
        extra?(&page)
        let users = try await services.accounts.list(.dashboard, merchant: try merchant(visit))
        page.table(
            id: "team", headers: [t("email"), t("role"), t("status")],
            rows: users.map { (id: $0.id, link: nil, cells: [$0.email, $0.role.rawValue, $0.status.rawValue]) })
        page.heading(t("invite"))
        page.form(
            id: "invite-user", action: "/dashboard/team", csrf: visit.csrf,
            fields: [
                .init(name: "email", label: t("email"), type: "email"),
                .init(name: "role", label: t("role"), value: "view_only", options: ConsoleRole.roles(of: .dashboard).map(\.rawValue)),
            ], submit: t("invite"))
        for user in users where user.id != visit.user.id && user.status != .disabled {
            page.heading(user.email)
            page.form(
                id: "role-\(user.id)", action: "/dashboard/team/\(user.id)/role", csrf: visit.csrf,
                fields: [.init(name: "role", label: t("role"), value: user.role.rawValue, options: ConsoleRole.roles(of: .dashboard).map(\.rawValue))],
                submit: t("change_role"), submitID: "change-role")
            page.form(
                id: "disable-\(user.id)", action: "/dashboard/team/\(user.id)/disable", csrf: visit.csrf, fields: [], submit: t("disable"),
                submitID: "disable")
        }
        return site.render(page, visit)
    }

    func invite(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageTeam)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let role = ConsoleRole(rawValue: form.fields["role"] ?? ""), role.app == .dashboard else {
            return try await team(request, context) { $0.error(t("invalid_role")) }
        }
        do {
            let (_, token) = try await services.accounts.invite(
                .dashboard, email: try form.text("email"), role: role, merchant: try await activeMerchant(visit), actor: visit.actor, source: visit.source)
            let url = services.enrollmentURL(.dashboard, token: token)
            return try await team(request, context) { $0.code(url, id: "enrollment-url", label: t("enrollment_url")) }
        } catch let error as ConsoleError {
            return try await team(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
    }

    /// Another role for a member of the team.
    func changeTeamRole(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageTeam)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let member = try memberID(context)
        guard let role = ConsoleRole(rawValue: form.fields["role"] ?? ""), role.app == .dashboard else {
            return try await team(request, context) { $0.error(t("invalid_role")) }
        }
        guard member != visit.user.id else { return try await team(request, context) { $0.error(t("cannot_change_self")) } }
        do {
            try await services.accounts.changeTeamRole(member, merchant: try await activeMerchant(visit), to: role, actor: visit.actor, source: visit.source)
        } catch ConsoleError.notFound {
            throw PageError.notFound
        } catch let error as ConsoleError {
            return try await team(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
        return try await team(request, context) { $0.notice(t("role_changed")) }
    }

    /// Ends a member's access (a person who left): disabled, signed out everywhere.
    func disableTeamMember(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .dashboard, needs: .manageTeam)
        _ = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let member = try memberID(context)
        guard member != visit.user.id else { return try await team(request, context) { $0.error(t("cannot_disable_self")) } }
        do {
            try await services.accounts.disableTeamMember(member, merchant: try await activeMerchant(visit), actor: visit.actor, source: visit.source)
        } catch ConsoleError.notFound {
            throw PageError.notFound
        } catch let error as ConsoleError {
            return try await team(request, context) { $0.error(t(OperatorPages.message(error))) }
        }
        return try await team(request, context) { $0.notice(t("disabled")) }
    }

    private func memberID(_ context: some ConsoleRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.utf8.count <= 64, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw PageError.notFound }
        return id
    }
}
