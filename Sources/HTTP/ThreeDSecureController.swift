import Crypto
import HTTPTypes
import Hummingbird
import KessaiCore
import Ledger
import NIOCore
import Payments
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The 3-D Secure challenge page a `requires_action` intent's `next_action.redirect_to_url.url`
/// points at. In test mode it plays the issuer's part: the buyer completes or fails the
/// challenge, and is sent back to the merchant's `return_url` with Stripe's query parameters
/// (`payment_intent`, `payment_intent_client_secret`, `redirect_status`).
///
/// The challenge id (32 random base-62 characters) is the only credential, as the buyer has no
/// API key; it is single-use (cleared with the answer).
struct ThreeDSecureController: Sendable {
    let payments: CardPayments
    let paymentMethods: PaymentMethodStore
    let reader: ParameterReader
    /// The merchant's registered origins may show the challenge in kessai.js's overlay.
    let origins: EmbeddingOrigins

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/3ds/:challenge", use: page)
        router.post("/3ds/:challenge", use: answer)
    }

    static let style = """
        body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:2rem;color:#1a1f36}\
        main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 2px 8px rgba(0,0,0,.08)}\
        h1{font-size:1.2rem}button{font-size:1rem;padding:.6rem 1rem;margin:.3rem .3rem 0 0;border-radius:6px;border:1px solid #ccd}\
        .pass{background:#1a7f37;color:#fff}.fail{background:#fff;color:#a40e26}dt{color:#697386}dd{margin:0 0 .6rem}
        """
    static let styleHash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()

    @Sendable func page(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let challenge = try context.parameters.require("challenge")
        guard challenge.utf8.count <= 64, let intent = try await payments.intent(forChallenge: challenge), intent.status == .requiresAction else {
            return Self.html(
                Self.document(title: "認証できません / Not available", body: "<p>この認証は終了しているか、存在しません。</p><p>This challenge has ended or does not exist.</p>"),
                status: .notFound, returnURL: nil)
        }
        var card = ""
        if let method = intent.paymentMethod, let found = try await paymentMethods.retrieve(method, merchant: intent.merchant) {
            card = "\(found.card.brand.rawValue.uppercased()) •••• \(found.card.last4)"
        }
        let body = """
            <h1>本人認証 (3-D Secure)<br>Verify your purchase</h1>
            <p>テスト用の認証画面です。カード発行会社の代わりに Kessai が表示しています。<br>This is a test challenge shown by Kessai in place of your card issuer.</p>
            <dl><dt>金額 / Amount</dt><dd>\(Self.escape(Self.format(intent.amount, intent.currency)))</dd>
            <dt>カード / Card</dt><dd>\(Self.escape(card))</dd></dl>
            <form method="post" action="/3ds/\(Self.escape(challenge))">
            <button class="pass" id="complete" name="result" value="pass">認証する / Complete</button>
            <button class="fail" id="fail" name="result" value="fail">失敗させる / Fail</button>
            </form>
            """
        return Self.html(
            Self.document(title: "3-D Secure", body: body), status: .ok, returnURL: intent.returnURL,
            frameAncestors: HostedPage.frameAncestors(try await origins.origins(of: intent.merchant)))
    }

    @Sendable func answer(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let challenge = try context.parameters.require("challenge")
        guard challenge.utf8.count <= 64 else { throw APIError.notFound("3-D Secure challenge", id: String(challenge.prefix(64))) }
        let parameters = try await reader.body(request)
        try parameters.allowOnly(["result"])
        let result = try parameters.requiredString("result")
        guard result == "pass" || result == "fail" else { throw APIError.invalid("result", "result must be pass or fail.") }
        let access = AccessContext(actor: LedgerActor(.system, "3ds_challenge"), requestID: context.requestID.rawValue, source: context.remoteAddress)
        let intent = try await payments.completeChallenge(challenge, passed: result == "pass", context: access)
        let succeeded = intent.status == .succeeded || intent.status == .requiresCapture
        context.logger.info(
            "3-D Secure challenge answered", metadata: ["payment_intent": "\(intent.id)", "result": "\(result)", "status": "\(intent.status.rawValue)"])
        if let returnURL = intent.returnURL, let back = HostedPage.redirectBack(returnURL, intent: intent, succeeded: succeeded) {
            return back
        }
        let message =
            succeeded
            ? "<p id=\"result\" data-status=\"succeeded\">認証が完了しました。<br>Authentication complete.</p>"
            : "<p id=\"result\" data-status=\"failed\">認証に失敗しました。<br>Authentication failed.</p>"
        return Self.html(Self.document(title: "3-D Secure", body: message), status: .ok, returnURL: nil)
    }

    static func document(title: String, body: String) -> String {
        """
        <!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(escape(title))</title><style>\(style)</style></head><body><main>\(body)</main></body></html>
        """
    }

    /// A page with a strict policy: no script at all, the one stylesheet by hash, forms only to
    /// Kessai (and the redirect after it to the merchant's return URL), never framed.
    static func html(_ text: String, status: HTTPResponse.Status, returnURL: String?, frameAncestors: String = "'none'") -> Response {
        var formAction = "'self'"
        if let origin = returnURL.flatMap(HostedPage.origin(of:)) { formAction += " " + origin }
        var response = Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'sha256-\(styleHash)'; form-action \(formAction); frame-ancestors \(frameAncestors); base-uri 'none'; report-uri /csp-report",
                .init("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
        if frameAncestors == "'none'" { response.headers[.init("X-Frame-Options")!] = "DENY" }
        return response
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ amount: Int64, _ currency: Currency) -> String {
        let digits = String(amount)
        var grouped = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        let whole = String(grouped.reversed())
        switch currency.code {
        case "jpy": return "¥" + whole
        default: return "\(amount) \(currency.code.uppercased()) (minor units)"
        }
    }
}
