import Hummingbird
import KessaiCore
import Ledger
import NIOCore

extension OperatorPages {
    /// Another role for an operator; promotion to admin waits for a second admin's approval.
    func changeRole(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .manageOperators)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let user = try await services.accounts.find(id: try id(context)), user.app == .console else { throw PageError.notFound }
        guard let role = ConsoleRole(rawValue: form.fields["role"] ?? ""), role.app == .console else {
            return try await operators(request, context) { $0.error(t("invalid_role")) }
        }
        guard user.id != visit.user.id else { return try await operators(request, context) { $0.error(t("cannot_change_self")) } }
        if role == .admin && user.role != .admin {
            _ = try await services.approvals.request(.promoteAdmin, subject: ["user": user.id, "email": user.email], by: visit.user, source: visit.source)
            return try await operators(request, context) { $0.notice(t("admin_requested")) }
        }
        try await services.accounts.changeRole(user.id, to: role, actor: visit.actor, source: visit.source)
        return try await operators(request, context) { $0.notice(t("role_changed")) }
    }

    /// Asks for an export of the ledger (step-up); a second operator approves it and receives it.
    func requestExport(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewLedger)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let days = Int(form.fields["days"] ?? ""), (1...90).contains(days) else { throw PageError.badForm }
        guard try await site.stepUp(visit, form, action: Approvals.Action.exportLedger.rawValue) else {
            var page = Page(t("ledger"))
            page.error(t("step_up_refused"))
            page.link(t("ledger"), href: "/console/ledger", id: "continue")
            return site.render(page, visit)
        }
        _ = try await services.approvals.request(.exportLedger, subject: ["days": String(days)], by: visit.user, source: visit.source)
        var page = Page(t("ledger"))
        page.notice(t("export_requested"))
        page.link(t("ledger"), href: "/console/ledger", id: "continue")
        return site.render(page, visit)
    }
}

/// The approved export: the last days' entries with their positions, one JSON object a line
/// (`{"seq":…,"entry":<canonical entry>}`), and the signed checkpoint they can be checked against
/// (`kessai ledger prove`). It is itself a ledger entry.
enum LedgerExport {
    static func response(site: ConsoleSite, visit: ConsoleSite.Visit, days: Int) async throws -> Response {
        let services = site.services
        let now = Int64(services.clock.now().timeIntervalSince1970 * 1000)
        let rows = try await services.ledger.query(LedgerQuery(from: now - Int64(days) * 86_400_000, to: now + 1))
        var text = ""
        for row in rows { text += "{\"seq\":\(row.seq),\"entry\":\(row.entry.canonical)}\n" }
        if let checkpoint = try await services.ledger.checkpoints().last {
            text +=
                "{\"checkpoint\":{\"size\":\(checkpoint.size),\"root\":\"\(Hex.encode(checkpoint.root))\",\"time\":\(checkpoint.time),\"key_id\":\"\(checkpoint.keyID)\"}}\n"
        }
        try await site.audit(visit, "console.ledger.exported", ["days": String(days), "entries": String(rows.count)])
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-ndjson; charset=utf-8", .contentDisposition: "attachment; filename=\"kessai-ledger-\(days)d.ndjson\"",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
