public import Hummingbird
import KessaiCore
import Ledger
import Mustache
import NIOCore
import Payments

/// The operator console (`/console`) and the merchant dashboard (`/dashboard`): server-rendered
/// pages, no script, every form with a CSRF token, every action in the ledger.
public struct ConsoleSite: Sendable {
    let services: ConsoleServices
    let templates: MustacheLibrary

    public init(services: ConsoleServices) {
        self.services = services
        self.templates = Templates.library()
    }

    /// Adds the pages of `apps` to a router (the gateway's in development, an internal
    /// listener's in production).
    public func register<Context: ConsoleRequestContext>(on router: Router<Context>, apps: [ConsoleApp] = ConsoleApp.allCases) {
        for app in apps {
            let group = router.group(RouterPath(app.basePath)).add(middleware: PageErrors<Context>(site: self, app: app))
            SignInPages(site: self, app: app).register(on: group)
            switch app {
            case .console: OperatorPages(site: self).register(on: group)
            case .dashboard: DashboardPages(site: self).register(on: group)
            }
        }
    }

    // MARK: Shared by the pages

    /// A signed-in request: the session, the person, and what the page needs around it.
    struct Visit {
        let session: ConsoleSession
        let user: ConsoleUser
        let language: Language
        let source: String
        var csrf: String { session.csrf }
        var actor: LedgerActor { LedgerActor(.operator, user.actorID) }
    }

    func cookieName(_ app: ConsoleApp) -> String { services.secureCookies ? "__Host-kessai_\(app.rawValue)" : "kessai_\(app.rawValue)" }

    func cookie(_ app: ConsoleApp, value: String) -> Cookie {
        Cookie(name: cookieName(app), value: value, path: "/", secure: services.secureCookies, httpOnly: true, sameSite: .strict)
    }

    func language(_ request: Request) -> Language {
        Language.choose(cookie: request.cookies["kessai_lang"]?.value, acceptLanguage: request.headers[.acceptLanguage])
    }

    /// The session the request's cookie names, if it is live.
    func session(_ request: Request, _ app: ConsoleApp) async throws -> ConsoleSession? {
        guard let token = request.cookies[cookieName(app)]?.value else { return nil }
        return try await services.sessions.find(app, token: token)
    }

    /// The signed-in person, with the permission the page needs.
    /// - Throws: ``PageError/signIn`` without a live signed-in session, ``PageError/forbidden``
    ///   when the role lacks `permission`.
    func visit(_ request: Request, _ context: some ConsoleRequestContext, _ app: ConsoleApp, needs permission: Permission?) async throws -> Visit {
        guard let session = try await session(request, app), session.stage == .active, let id = session.userID else { throw PageError.signIn }
        guard let user = try await services.accounts.find(id: id), user.status == .active, user.app == app else {
            try await services.sessions.end(session)
            throw PageError.signIn
        }
        let visit = Visit(session: session, user: user, language: language(request), source: context.remoteAddress)
        if let permission, !user.role.permissions.contains(permission) {
            try await audit(visit, "console.denied", ["path": String(request.uri.path.prefix(200))], outcome: "failure:forbidden")
            throw PageError.forbidden
        }
        return visit
    }

    /// The form of a POST, its CSRF token checked against the session's.
    func form(_ request: Request, _ context: some RequestContext, session: ConsoleSession?) async throws -> ConsoleForm {
        let form = try await ConsoleForm.read(request, context: context)
        guard let session, let token = form.fields["csrf"], ConstantTime.equal(token, session.csrf) else { throw PageError.csrf }
        return form
    }

    func render(_ page: Page, _ visit: Visit) -> Response {
        Chrome(app: visit.user.app, language: visit.language, nav: nav(visit), user: visit.user.email, csrf: visit.csrf).response(page, templates: templates)
    }

    func render(_ page: Page, app: ConsoleApp, language: Language) -> Response {
        Chrome(app: app, language: language).response(page, templates: templates)
    }

    func nav(_ visit: Visit) -> [(String, String)] {
        let t = visit.language
        let permissions = visit.user.role.permissions
        switch visit.user.app {
        case .console:
            var links = [(t("home"), "/console")]
            if permissions.contains(.viewMerchants) { links.append((t("merchants"), "/console/merchants")) }
            if permissions.contains(.viewPayments) { links.append((t("payments"), "/console/payments")) }
            if permissions.contains(.viewPayments) { links.append((t("webhooks"), "/console/webhooks")) }
            if permissions.contains(.viewLedger) { links.append((t("ledger"), "/console/ledger")) }
            if permissions.contains(.manageOperators) { links.append((t("operators"), "/console/operators")) }
            if permissions.contains(.approve) { links.append((t("approvals"), "/console/approvals")) }
            if permissions.contains(.incidents) {
                links.append((t("incidents"), "/console/incidents"))
                links.append((t("response"), "/console/response"))
            }
            return links
        case .dashboard:
            var links = [(t("payments"), "/dashboard")]
            if permissions.contains(.manageKeys) {
                links.append((t("keys"), "/dashboard/keys"))
                links.append((t("origins"), "/dashboard/origins"))
            }
            if permissions.contains(.viewWebhooks) { links.append((t("webhooks"), "/dashboard/webhooks")) }
            if permissions.contains(.manageTeam) { links.append((t("team"), "/dashboard/team")) }
            return links
        }
    }

    /// Records what a person did or looked at (PCI DSS 10.2.1, 10.2.2).
    func audit(_ visit: Visit, _ action: String, _ objects: [String: String], outcome: String = "success") async throws {
        var objects = objects
        if let merchant = visit.user.merchant { objects["merchant"] = objects["merchant"] ?? merchant.rawValue }
        try await services.ledger.record(
            LedgerEntry(time: services.clock.now(), actor: visit.actor, action: action, objects: objects, source: visit.source, outcome: outcome))
    }

    /// A step-up check (password and a fresh code) for a sensitive action.
    func stepUp(_ visit: Visit, _ form: ConsoleForm, action: String) async throws -> Bool {
        try await services.signIn.stepUp(
            visit.user, password: form.fields["password"] ?? "", code: form.fields["code"] ?? "", action: action, source: visit.source)
    }

    static func stepUpFields(_ t: Language) -> [Page.Field] {
        [
            .init(name: "password", label: t("password"), type: "password", autocomplete: "current-password", maxLength: 128),
            .init(name: "code", label: t("code_only"), type: "code", autocomplete: "one-time-code", maxLength: 16),
        ]
    }

    static func time(_ unix: Int64) -> String {
        let local = unix + 9 * 3600
        let (y, m, d) = CashPayments.civil(fromDays: local / 86_400)
        let seconds = local % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60)) JST"
    }
}
