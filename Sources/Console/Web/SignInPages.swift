import Hummingbird
import KessaiCore

/// Enrollment, sign-in (password, then a one-time code), sign-out and the language switch, for
/// either application.
struct SignInPages: Sendable {
    let site: ConsoleSite
    let app: ConsoleApp

    var services: ConsoleServices { site.services }
    var base: String { app.basePath }

    func register<Context: ConsoleRequestContext>(on group: RouterGroup<Context>) {
        group.get("login") { request, context in try await loginPage(request, context) }
        group.post("login") { request, context in try await login(request, context) }
        group.get("login/code") { request, context in try await codePage(request, context) }
        group.post("login/code") { request, context in try await code(request, context) }
        group.post("logout") { request, context in try await logout(request, context) }
        group.get("lang") { request, _ in language(request) }
        group.get("enroll/:token") { request, context in try await enrollPage(request, context) }
        group.post("enroll/:token") { request, context in try await enrollPassword(request, context) }
        group.post("enroll/:token/code") { request, context in try await enrollCode(request, context) }
        group.get("assets/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                body: .init(byteBuffer: .init(string: Templates.css)))
        }
    }

    /// The session to put a form in: the live one, or a new anonymous one (its cookie set on
    /// the response).
    func formSession(_ request: Request) async throws -> (ConsoleSession, Cookie?) {
        if let session = try await site.session(request, app), session.stage != .active { return (session, nil) }
        let (token, session) = try await services.sessions.start(app, stage: .anonymous)
        return (session, site.cookie(app, value: token))
    }

    func loginForm(_ t: Language, csrf: String, error: String? = nil, email: String? = nil) -> Page {
        var page = Page(t("sign_in"))
        if let error { page.error(error) }
        page.form(
            id: "login-form", action: "\(base)/login", csrf: csrf,
            fields: [
                .init(name: "email", label: t("email"), type: "email", autocomplete: "username", value: email),
                .init(name: "password", label: t("password"), type: "password", autocomplete: "current-password", maxLength: 128),
            ], submit: t("sign_in"))
        return page
    }

    func loginPage(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        if let session = try await site.session(request, app), session.stage == .active { return .redirect(to: base, type: .normal) }
        let (session, cookie) = try await formSession(request)
        var response = site.render(loginForm(site.language(request), csrf: session.csrf), app: app, language: site.language(request))
        if let cookie { response.setCookie(cookie) }
        return response
    }

    func login(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let t = site.language(request)
        let session = try await site.session(request, app)
        let form = try await site.form(request, context, session: session)
        guard let session else { throw PageError.csrf }
        let email = String((form.fields["email"] ?? "").prefix(254))
        let password = form.fields["password"] ?? ""
        guard password.utf8.count <= PasswordPolicy.maximumLength,
            case .accepted(let user) = try await services.signIn.password(app, email: email, password: password, source: context.remoteAddress)
        else {
            return site.render(
                loginForm(t, csrf: session.csrf, error: t("invalid_login"), email: AccountStore.isEmail(email) ? email : nil), app: app, language: t)
        }
        let (token, _) = try await services.sessions.rotate(session, to: .password, userID: user.id)
        var response = Response.redirect(to: "\(base)/login/code", type: .normal)
        response.setCookie(site.cookie(app, value: token))
        return response
    }

    func codeForm(_ t: Language, csrf: String, error: String? = nil) -> Page {
        var page = Page(t("code_title"))
        if let error { page.error(error) }
        page.form(
            id: "code-form", action: "\(base)/login/code", csrf: csrf,
            fields: [.init(name: "code", label: t("code"), type: "code", autocomplete: "one-time-code", maxLength: 16)], submit: t("sign_in"))
        return page
    }

    func codePage(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        guard let session = try await site.session(request, app), session.stage == .password else { throw PageError.signIn }
        return site.render(codeForm(site.language(request), csrf: session.csrf), app: app, language: site.language(request))
    }

    func code(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let t = site.language(request)
        let session = try await site.session(request, app)
        let form = try await site.form(request, context, session: session)
        guard let session, session.stage == .password, let userID = session.userID else { throw PageError.signIn }
        guard case .accepted(let user) = try await services.signIn.code(userID: userID, code: form.fields["code"] ?? "", source: context.remoteAddress)
        else {
            return site.render(codeForm(t, csrf: session.csrf, error: t("invalid_code")), app: app, language: t)
        }
        let (token, _) = try await services.sessions.rotate(session, to: .active, userID: user.id)
        var response = Response.redirect(to: base, type: .normal)
        response.setCookie(site.cookie(app, value: token))
        return response
    }

    func logout(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let session = try await site.session(request, app)
        _ = try await site.form(request, context, session: session)
        if let session {
            try await services.sessions.end(session)
            if let id = session.userID, let user = try await services.accounts.find(id: id) {
                try await services.ledger.record(
                    .init(
                        time: services.clock.now(), actor: .init(.operator, user.actorID), action: "console.logout", objects: ["user": user.id],
                        source: context.remoteAddress))
            }
        }
        var response = Response.redirect(to: "\(base)/login", type: .normal)
        response.setCookie(
            Cookie(name: site.cookieName(app), value: "", maxAge: 0, path: "/", secure: services.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func language(_ request: Request) -> Response {
        let chosen = Language(rawValue: request.uri.queryParameters.get("set") ?? "") ?? .ja
        var response = Response.redirect(to: base, type: .normal)
        response.setCookie(
            Cookie(
                name: "kessai_lang", value: chosen.rawValue, maxAge: 365 * 86_400, path: "/", secure: services.secureCookies, httpOnly: true, sameSite: .strict)
        )
        return response
    }

    // MARK: Enrollment

    func enrolling(_ request: Request, _ context: some ConsoleRequestContext) async throws -> ConsoleUser {
        let token = context.parameters.get("token") ?? ""
        guard let user = try await services.accounts.enrolling(app, token: token) else { throw EnrollmentInvalid() }
        return user
    }

    struct EnrollmentInvalid: Error {}

    func invalidEnrollment(_ request: Request) -> Response {
        let t = site.language(request)
        var page = Page(t("enroll_title"), status: .notFound)
        page.error(t("enrollment_invalid"))
        return site.render(page, app: app, language: t)
    }

    func passwordForm(_ t: Language, action: String, csrf: String, error: String? = nil) -> Page {
        var page = Page(t("enroll_title"))
        if let error { page.error(error) }
        page.paragraph(t("enroll_rules"))
        page.form(
            id: "enroll-form", action: action, csrf: csrf,
            fields: [
                .init(name: "password", label: t("password"), type: "password", autocomplete: "new-password", maxLength: 128),
                .init(name: "password_confirm", label: t("password_confirm"), type: "password", autocomplete: "new-password", maxLength: 128),
            ], submit: t("continue"))
        return page
    }

    func enrollPage(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        do { _ = try await enrolling(request, context) } catch is EnrollmentInvalid { return invalidEnrollment(request) }
        let (session, cookie) = try await formSession(request)
        let t = site.language(request)
        var response = site.render(passwordForm(t, action: request.uri.path, csrf: session.csrf), app: app, language: t)
        if let cookie { response.setCookie(cookie) }
        return response
    }

    func enrollPassword(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let t = site.language(request)
        let user: ConsoleUser
        do { user = try await enrolling(request, context) } catch is EnrollmentInvalid { return invalidEnrollment(request) }
        let session = try await site.session(request, app)
        let form = try await site.form(request, context, session: session)
        guard let session else { throw PageError.csrf }
        let secret: String
        do {
            secret = try await services.accounts.setPassword(
                user, password: form.fields["password"] ?? "", confirmation: form.fields["password_confirm"] ?? "", source: context.remoteAddress)
        } catch ConsoleError.password(let refusal) {
            return site.render(passwordForm(t, action: request.uri.path, csrf: session.csrf, error: t("password_\(refusal)")), app: app, language: t)
        }
        let (token, next) = try await services.sessions.rotate(session, to: .enrolling, userID: user.id)
        var response = site.render(authenticatorPage(t, user: user, secret: secret, csrf: next.csrf, action: "\(request.uri.path)/code"), app: app, language: t)
        response.setCookie(site.cookie(app, value: token))
        return response
    }

    func authenticatorPage(_ t: Language, user: ConsoleUser, secret: String, csrf: String, action: String, error: String? = nil) -> Page {
        var page = Page(t("totp_title"))
        if let error { page.error(error) }
        page.paragraph(t("totp_help"))
        let uri = OneTimeCodes.uri(secret: secret, account: user.email, app: app)
        page.code(uri, id: "otpauth", label: t("totp_uri"))
        let key = uri.split(separator: "secret=").last.map { String($0.prefix { $0 != "&" }) } ?? ""
        page.code(key, id: "totp-secret", label: t("totp_key"))
        page.form(
            id: "code-form", action: action, csrf: csrf,
            fields: [.init(name: "code", label: t("code_only"), type: "code", autocomplete: "one-time-code", maxLength: 16)], submit: t("continue"))
        return page
    }

    func enrollCode(_ request: Request, _ context: some ConsoleRequestContext) async throws -> Response {
        let t = site.language(request)
        let user: ConsoleUser
        do { user = try await enrolling(request, context) } catch is EnrollmentInvalid { return invalidEnrollment(request) }
        let session = try await site.session(request, app)
        let form = try await site.form(request, context, session: session)
        guard let session, session.stage == .enrolling, session.userID == user.id else { throw PageError.csrf }
        let codes: [String]
        do {
            codes = try await services.accounts.completeEnrollment(user, code: form.fields["code"] ?? "", source: context.remoteAddress)
        } catch ConsoleError.invalidCode {
            let secret = try await services.accounts.pendingSecret(user)
            let action = request.uri.path
            return site.render(
                authenticatorPage(t, user: user, secret: secret, csrf: session.csrf, action: action, error: t("invalid_code")), app: app, language: t)
        }
        try await services.sessions.end(session)
        var page = Page(t("recovery_title"))
        page.paragraph(t("recovery_help"))
        page.list(codes, id: "recovery-codes")
        page.link(t("sign_in"), href: "\(base)/login", id: "continue")
        return site.render(page, app: app, language: t)
    }
}
