import HTTPTypes
import Hummingbird
import KessaiCore
import Merchants
import NIOCore
import Payments

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The headers every page Kessai serves for payments carries.
enum HostedPage {
    /// A fresh nonce for one response's `script-src`/`style-src`.
    static func nonce() -> String { Base62.random(count: 22) }

    /// - Parameters:
    ///   - policy: the Content-Security-Policy, without `report-uri` (added here).
    static func response(_ html: String, status: HTTPResponse.Status = .ok, policy: String) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: policy + "; report-uri /csp-report",
                .init("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `frame-ancestors` for a merchant's registered origins; `'none'` without any.
    static func frameAncestors(_ origins: [String]) -> String {
        origins.isEmpty ? "'none'" : origins.joined(separator: " ")
    }

    static func escape(_ text: String) -> String { ThreeDSecureController.escape(text) }

    /// `scheme://host[:port]` of a merchant's http(s) URL, for a CSP source list; nil when the
    /// host holds anything but letters, digits, dots and dashes (a `;` would add a directive).
    static func origin(of text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host,
            !host.isEmpty,
            host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") })
        else { return nil }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }

    /// The merchant's `return_url` with Stripe's query parameters added (`payment_intent`,
    /// `payment_intent_client_secret`, `redirect_status`), as a 303.
    static func redirectBack(_ returnURL: String, intent: PaymentIntent, succeeded: Bool) -> Response? {
        guard var components = URLComponents(string: returnURL) else { return nil }
        var items = components.queryItems ?? []
        items.append(URLQueryItem(name: "payment_intent", value: intent.id.rawValue))
        items.append(URLQueryItem(name: "payment_intent_client_secret", value: intent.clientSecret))
        items.append(URLQueryItem(name: "redirect_status", value: succeeded ? "succeeded" : "failed"))
        components.queryItems = items
        guard let location = components.string else { return nil }
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

/// The card fields' iframe (`GET /elements/card`) and the page a 3-D Secure challenge inside
/// kessai.js's overlay returns to (`GET /elements/complete`).
struct ElementsController: Sendable {
    let authenticator: Authenticator
    let origins: EmbeddingOrigins
    let payments: CardPayments
    let reader: ParameterReader

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/elements/card", use: card)
        router.get("/elements/complete", use: complete)
    }

    static let style = """
        html,body{margin:0;padding:0;background:transparent;font:16px/1.4 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;color:#1a1f36}\
        .row{display:flex;gap:8px;margin:0 0 8px}.field{flex:1;position:relative}\
        input{box-sizing:border-box;width:100%;padding:10px 12px;font:inherit;border:1px solid #c9ced8;border-radius:6px;background:#fff;color:inherit}\
        input:focus{outline:2px solid #4f6ef7;outline-offset:-1px;border-color:#4f6ef7}\
        #brand{position:absolute;right:10px;top:50%;transform:translateY(-50%);font-size:12px;color:#697386;pointer-events:none}\
        #message{min-height:1.3em;margin:2px 0 0;font-size:14px;color:#c0123c}
        """

    @Sendable func card(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let query = try reader.query(request)
        let key = try query.string("key") ?? ""
        let requested = try query.string("origin") ?? ""
        let locale = (try query.string("locale")) == "en" ? "en" : "ja"
        let nonce = HostedPage.nonce()
        func refuse(_ japanese: String, _ english: String, frameAncestor: String) -> Response {
            let html = """
                <!doctype html><html lang="\(locale)"><head><meta charset="utf-8"><style nonce="\(nonce)">\(Self.style)</style></head>
                <body><p id="message" role="alert">\(HostedPage.escape(locale == "en" ? english : japanese))</p></body></html>
                """
            return HostedPage.response(
                html, status: .forbidden,
                policy: "default-src 'none'; style-src 'nonce-\(nonce)'; frame-ancestors \(frameAncestor); form-action 'none'; base-uri 'none'")
        }
        guard !key.isEmpty, key.utf8.count <= 512,
            let authenticated = try? await authenticator.authenticate(presented: key, context: context, accepts: .publishable)
        else {
            return refuse("公開可能キー (pk_…) が正しくありません。", "The publishable key (pk_…) is not valid.", frameAncestor: "'none'")
        }
        guard let origin = EmbeddingOrigins.normalize(requested) else {
            return refuse("埋め込み元のオリジンが指定されていません。", "The embedding page's origin is missing.", frameAncestor: "'none'")
        }
        let registered = try await origins.origins(of: authenticated.merchant)
        guard registered.contains(origin) else {
            // Shown in the frame so the developer sees why; no inputs, nothing to steal.
            return refuse(
                "このオリジン (\(origin)) はカード入力欄の埋め込みが許可されていません。POST /v1/embedding_origins で登録してください。",
                "This origin (\(origin)) may not embed card fields. Register it with POST /v1/embedding_origins.", frameAncestor: origin)
        }
        guard let integrity = ScriptInventory.entry(path: "/js/v1/card-field.js")?.integrity else {
            throw APIError(kind: .api, code: nil, message: "The card field script is not in the inventory.", status: 500)
        }
        let html = """
            <!doctype html><html lang="\(locale)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <style nonce="\(nonce)">\(Self.style)</style></head>
            <body data-key="\(HostedPage.escape(key))" data-origin="\(HostedPage.escape(origin))" data-locale="\(locale)">
            <div class="row"><div class="field"><input id="number" name="cardnumber" inputmode="numeric" autocomplete="cc-number" maxlength="23" spellcheck="false"><span id="brand"></span></div></div>
            <div class="row"><div class="field"><input id="expiry" name="exp-date" inputmode="numeric" autocomplete="cc-exp" maxlength="7"></div>
            <div class="field"><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" maxlength="4"></div></div>
            <p id="message" role="alert" aria-live="polite"></p>
            <script src="/js/v1/card-field.js" integrity="\(integrity)" nonce="\(nonce)"></script>
            </body></html>
            """
        return HostedPage.response(
            html,
            policy:
                "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; frame-ancestors \(origin); form-action 'none'; base-uri 'none'"
        )
    }

    /// Where a challenge shown by kessai.js lands; kessai.js notices the intent moved on and
    /// closes the overlay. No script.
    @Sendable func complete(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let query = try reader.query(request)
        var ancestors = "'none'"
        if let raw = try query.string("payment_intent"), let id = PaymentIntentID(parsing: raw), let secret = try query.string("payment_intent_client_secret"),
            let intent = try await payments.retrieve(id), ConstantTime.equal(intent.clientSecret, secret)
        {
            ancestors = HostedPage.frameAncestors(try await origins.origins(of: intent.merchant))
        }
        let status = try query.string("redirect_status") == "succeeded"
        let html = """
            <!doctype html><html lang="ja"><head><meta charset="utf-8"><style>\(ThreeDSecureController.style)</style></head>
            <body><main><p id="result" data-status="\(status ? "succeeded" : "failed")">\(status ? "認証が完了しました。<br>Authentication complete." : "認証に失敗しました。<br>Authentication failed.")</p></main></body></html>
            """
        return HostedPage.response(
            html,
            policy:
                "default-src 'none'; style-src 'sha256-\(ThreeDSecureController.styleHash)'; frame-ancestors \(ancestors); form-action 'none'; base-uri 'none'")
    }
}
