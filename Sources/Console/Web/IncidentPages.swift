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
