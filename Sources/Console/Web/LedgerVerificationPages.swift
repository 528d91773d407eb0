import Hummingbird
import KessaiCore
import Ledger

/// When the ledger last verified: one line for the home page, the history and a "verify now"
/// button for the ledger page.
extension OperatorPages {
    /// The newest verification in a line: verified or failed, when, at what size, by which process.
    static func verificationLine(_ verification: LedgerVerification?, _ t: Language) -> String {
        guard let verification else { return t("never_verified") }
        let when = ConsoleSite.time(verification.finishedAt / 1000)
        let verdict = verification.isClean ? t("verified_clean") : "\(t("verified_failed")): \(verification.findings) \(t("findings"))"
        return "\(verdict) · \(when) · #\(verification.size) · \(verification.instance)"
    }

    /// The ledger page's part: the newest verifications and the button.
    func verificationSection(_ page: inout Page, _ visit: ConsoleSite.Visit) async throws {
        let t = visit.language
        let recent = try await services.verifications.recent(limit: 10)
        page.facts([(t("last_verified"), Self.verificationLine(recent.first, t))], id: "ledger-verified")
        if services.verifyLedger != nil {
            page.form(id: "verify-ledger", action: "/console/ledger/verify", csrf: visit.csrf, fields: [], submit: t("verify_now"), submitID: "verify")
        }
        page.heading(t("verifications"))
        page.table(
            id: "verifications", headers: [t("time"), t("status"), "#", "root", t("first_finding"), t("duration"), t("instance"), t("started_by")],
            rows: recent.map {
                (
                    id: $0.id, link: nil,
                    cells: [
                        ConsoleSite.time($0.finishedAt / 1000), $0.isClean ? t("verified_clean") : "\(t("verified_failed")) (\($0.findings))",
                        String($0.size), String($0.root.prefix(16)) + "…", $0.firstFinding ?? "", String($0.durationMilliseconds), $0.instance,
                        $0.startedBy,
                    ]
                )
            })
    }

    /// Verifies the whole ledger now; a failure opens an incident (the sentinel also does this on
    /// its schedule).
    func verifyLedger(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let visit = try await site.visit(request, context, .console, needs: .viewLedger)
        _ = try await site.form(request, context, session: visit.session)
        guard let verify = services.verifyLedger else { throw PageError.notFound }
        let t = visit.language
        var page = Page(t("ledger"))
        guard await services.verifying.begin() else {
            page.notice(t("verify_running"), id: "verify-running")
            page.link(t("ledger"), href: "/console/ledger", id: "continue")
            return site.render(page, visit)
        }
        let verification: LedgerVerification
        do {
            verification = try await verify(visit.actor, visit.source)
            await services.verifying.end()
        } catch {
            await services.verifying.end()
            throw error
        }
        let line = Self.verificationLine(verification, t)
        if verification.isClean {
            page.notice(line, id: "verified")
        } else {
            page.error(line + " — " + (verification.firstFinding ?? ""))
            page.link(t("incidents"), href: "/console/incidents", id: "incidents")
        }
        page.link(t("ledger"), href: "/console/ledger", id: "continue")
        return site.render(page, visit)
    }
}
