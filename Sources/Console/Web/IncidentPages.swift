import Foundation
import Hummingbird
import KessaiCore
import Sentinel

extension OperatorPages {
    /// Incidents not resolved (all with `?all=1`), each with the forms for its next steps.
    func incidents(_ request: Request, _ context: some ConsoleRequestContext, notice: String? = nil, error: String? = nil) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let t = visit.language
        let all = request.uri.queryParameters.get("all") == "1"
        let listed = try await services.incidents.list(all: all)
        try await site.audit(visit, "console.incidents.viewed", ["results": String(listed.count)])
        var page = Page(t("incidents"))
        if let notice { page.notice(notice) }
        if let error { page.error(error) }
        let note = Page.Field(name: "note", label: t("note"), maxLength: 1000)
        page.table(
            id: "incidents", headers: [t("id"), t("severity"), t("status"), t("opened"), t("events"), t("summary")],
            rows: listed.map {
                (
                    id: $0.id, link: nil,
                    cells: [$0.id, $0.severity.rawValue, $0.status.rawValue, ConsoleSite.time($0.openedAt), String($0.events), $0.summary]
                )
            },
            rowForms: Dictionary(
                uniqueKeysWithValues: listed.compactMap { incident -> (String, [String: Any])? in
                    let step: String
                    switch incident.status {
                    case .open: step = "acknowledge"
                    case .acknowledged, .contained: step = "resolve"
                    case .resolved: return nil
                    }
                    return (
                        incident.id,
                        Page.form(
                            id: "\(step)-\(incident.id)", action: "/console/incidents/\(incident.id)/\(step)", csrf: visit.csrf, fields: [note],
                            submit: t(step), submitID: step, formClass: "\(step)-form")
                    )
                }))
        page.link(all ? t("incidents") : "\(t("incidents")) (\(t("resolve")))", href: all ? "/console/incidents" : "/console/incidents?all=1", id: "toggle")
        if services.exportCards != nil {
            page.heading(t("export_cards"))
            page.paragraph(t("export_cards_help"))
            page.form(
                id: "export-cards", action: "/console/exports/cards", csrf: visit.csrf,
                fields: [
                    .init(name: "from", label: t("from_iso"), maxLength: 40), .init(name: "to", label: t("to_iso"), maxLength: 40),
                    .init(name: "instance", label: t("instance_optional"), required: false, maxLength: 100),
                    .init(name: "recipient", label: t("recipient_key"), maxLength: 100),
                ] + ConsoleSite.stepUpFields(t), submit: t("export_cards"), submitID: "export-cards-submit")
        }
        if services.rebaseline != nil {
            page.heading(t("rebaseline"))
            page.paragraph(t("step_up"))
            page.form(
                id: "rebaseline", action: "/console/files/baseline", csrf: visit.csrf, fields: ConsoleSite.stepUpFields(t), submit: t("rebaseline"),
                submitID: "rebaseline-submit")
        }
        return site.render(page, visit)
    }

    /// Acknowledge, contain or resolve, with a note; the person is the signed-in operator.
    func incidentStep(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let id = try self.id(context)
        let note = form.fields["note"] ?? ""
        let person = visit.user.actorID
        do {
            let incident: Incident
            switch context.parameters.get("step") {
            case "acknowledge": incident = try await services.incidents.acknowledge(id, by: person, note: note, source: visit.source)
            case "contain": incident = try await services.incidents.contain(id, by: person, note: note, source: visit.source)
            case "resolve": incident = try await services.incidents.resolve(id, by: person, note: note, source: visit.source)
            default: throw PageError.notFound
            }
            let waiting = incident.status != .resolved && incident.resolutionRequestedBy == person
            return try await incidents(request, context, notice: t(waiting ? "incident_second" : "incident_step_done"))
        } catch IncidentStore.Refusal.notFound {
            throw PageError.notFound
        } catch IncidentStore.Refusal.noteHasCardNumber {
            throw PageError.cardNumber
        } catch is IncidentStore.Refusal {
            return try await incidents(request, context, error: t("incident_refused"))
        }
    }
}

extension OperatorPages {
    /// A new file-integrity baseline after a deploy: step-up, then the baseline (a ledger entry
    /// naming the operator).
    func rebaseline(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        guard let rebaseline = services.rebaseline else { throw PageError.notFound }
        guard try await site.stepUp(visit, form, action: "sentinel.baseline") else { return try await incidents(request, context, error: t("step_up_refused")) }
        let files = try await rebaseline(visit.actor)
        return try await incidents(request, context, notice: "\(t("rebaselined")): \(files)")
    }
}

extension OperatorPages {
    /// Asks for the card brands' file (step-up); a second operator approves and receives it.
    func requestCardExport(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .incidents)
        let form = try await site.form(request, context, session: visit.session)
        let t = visit.language
        let from = try form.text("from", maximum: 40)
        let to = try form.text("to", maximum: 40)
        let recipient = try form.text("recipient", maximum: 100)
        func seconds(_ text: String) -> Int64? {
            if let value = Int64(text) { return (0...100_000_000_000).contains(value) ? value : nil }
            return ISO8601DateFormatter().date(from: text).map { Int64($0.timeIntervalSince1970) }
        }
        guard let start = seconds(from), let end = seconds(to), start < end, Data(base64Encoded: recipient)?.count == 32 else { throw PageError.badForm }
        guard try await site.stepUp(visit, form, action: Approvals.Action.exportCards.rawValue) else {
            return try await incidents(request, context, error: t("step_up_refused"))
        }
        var subject = ["from": from, "to": to, "recipient": recipient]
        if let instance = form.fields["instance"]?.trimmingCharacters(in: .whitespaces), !instance.isEmpty {
            subject["instance"] = String(instance.prefix(100))
        }
        _ = try await services.approvals.request(.exportCards, subject: subject, by: visit.user, source: visit.source)
        return try await incidents(request, context, notice: t("export_cards_requested"))
    }
}
