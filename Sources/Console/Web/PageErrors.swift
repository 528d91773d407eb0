import Hummingbird
import KessaiCore
import Logging
import NIOCore

/// How a page ends early.
enum PageError: Error {
    /// Not signed in (or the session timed out): to the sign-in page.
    case signIn
    case forbidden
    case notFound
    /// A form without its CSRF token, or with another session's.
    case csrf
    /// The form could not be read (too large, repeated or malformed fields).
    case badForm
    /// A value that looks like a card number was entered.
    case cardNumber
}

/// Turns every error of a console page into a page: the sign-in redirect, 403, 404, 400, and
/// for anything unexpected a 500 page that names nothing but the time (the details go to the
/// log, which never holds card data).
struct PageErrors<Context: ConsoleRequestContext>: RouterMiddleware {
    let site: ConsoleSite
    let app: ConsoleApp

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let t = site.language(request)
        do {
            return try await next(request, context)
        } catch let error as PageError {
            switch error {
            case .signIn:
                return Response.redirect(to: "\(app.basePath)/login", type: .normal)
            case .forbidden:
                return page(t("forbidden"), .forbidden, t)
            case .notFound:
                return page(t("not_found"), .notFound, t)
            case .csrf:
                return page(t("csrf"), .forbidden, t)
            case .badForm:
                return page(t("bad_input"), .badRequest, t)
            case .cardNumber:
                return page(t("card_number"), .badRequest, t)
            }
        } catch ConsoleError.notFound {
            return page(t("not_found"), .notFound, t)
        } catch let error as HTTPError where error.status == .notFound {
            return page(t("not_found"), .notFound, t)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return page(t("bad_input"), .contentTooLarge, t)
        } catch {
            context.logger.error("console page failed", metadata: ["error": "\(String(describing: error).prefix(300))"])
            return page(t("bad_input"), .internalServerError, t)
        }
    }

    func page(_ message: String, _ status: HTTPResponse.Status, _ t: Language) -> Response {
        var page = Page(message, status: status)
        page.error(message)
        page.link(t("home"), href: app.basePath, id: "home")
        return site.render(page, app: app, language: t)
    }
}

/// A form body (`application/x-www-form-urlencoded`), read with Hummingbird's form decoder under
/// a size limit. No field may hold a card number: such a form is refused before anything is done.
struct ConsoleForm {
    let fields: [String: String]

    static let maximumBytes = 16 * 1024

    static func read(_ request: Request, context: some RequestContext) async throws -> ConsoleForm {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maximumBytes) } catch { throw PageError.badForm }
        let fields: [String: String]
        do { fields = try URLEncodedFormDecoder().decode([String: String].self, from: String(buffer: buffer)) } catch { throw PageError.badForm }
        for (name, value) in fields where name != "password" && name != "password_confirm" {
            if CardNumberScan.containsCardNumber(value) { throw PageError.cardNumber }
        }
        return ConsoleForm(fields: fields)
    }

    /// A required text field of at most `maximum` characters, trimmed.
    func text(_ name: String, maximum: Int = 254) throws -> String {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty, value.count <= maximum else {
            throw PageError.badForm
        }
        return value
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
