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

/// The hosted checkout page as the buyer sees it: its style, its policy, its rendering and its
/// messages in Japanese and English.
extension CheckoutController {
    static let style = """
        *{box-sizing:border-box}body{margin:0;background:#f4f5f7;color:#1a1f36;font:16px/1.5 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif}\
        main{max-width:30rem;margin:2rem auto;background:#fff;border-radius:10px;padding:1.5rem;box-shadow:0 2px 10px rgba(0,0,0,.08)}\
        h1{font-size:1.2rem;margin:0 0 1rem}table{width:100%;border-collapse:collapse;margin-bottom:1rem}td{padding:.3rem 0}td.n{text-align:right}\
        tr.total td{border-top:1px solid #e3e8ee;font-weight:600;padding-top:.6rem}label{display:block;font-size:.9rem;color:#4f566b;margin:.6rem 0 .2rem}\
        input{width:100%;padding:.6rem .7rem;font:inherit;border:1px solid #c9ced8;border-radius:6px}.two{display:flex;gap:.6rem}.two div{flex:1}\
        button{width:100%;margin-top:1rem;padding:.8rem;font:inherit;font-weight:600;color:#fff;background:#4f46e5;border:0;border-radius:6px}\
        .error{background:#fdecee;color:#a40e26;padding:.6rem .8rem;border-radius:6px}.note{font-size:.8rem;color:#697386}a{color:#4f46e5}
        """
    static let styleHash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()

    static func language(_ session: CheckoutSession, _ request: Request) -> String {
        if let locale = session.locale { return locale }
        let accept = request.headers[.acceptLanguage]?.lowercased() ?? ""
        return accept.hasPrefix("en") ? "en" : "ja"
    }

    /// Form-action must allow the success and cancel origins: the 303 after a payment is part
    /// of the form submission.
    func policy(_ session: CheckoutSession) -> String {
        var actions = ["'self'"]
        actions += [session.successURL, session.cancelURL].compactMap { $0.flatMap(HostedPage.origin(of:)) }
        return
            "default-src 'none'; style-src 'sha256-\(Self.styleHash)'; form-action \(actions.joined(separator: " ")); frame-ancestors 'none'; base-uri 'none'"
    }

    func render(
        _ session: CheckoutSession, language: String, error: String? = nil, name: String = "", email: String = "", status: HTTPResponse.Status = .ok
    )
        -> Response
    {
        let en = language == "en"
        let escape = HostedPage.escape
        var rows = ""
        for item in session.lineItems {
            rows +=
                "<tr><td>\(escape(item.name)) × \(item.quantity)</td><td class=\"n\">\(escape(ThreeDSecureController.format(item.amount, session.currency)))</td></tr>"
        }
        rows +=
            "<tr class=\"total\"><td>\(en ? "Total" : "合計")</td><td class=\"n\" id=\"total\">\(escape(ThreeDSecureController.format(session.amountTotal, session.currency)))</td></tr>"
        let state = session.status(now: now)
        var body = "<h1>\(en ? "Pay" : "お支払い")</h1><table>\(rows)</table>"
        if state == "complete" {
            body += "<p id=\"result\" data-status=\"complete\">\(en ? "This payment is complete." : "このお支払いは完了しています。")</p>"
        } else if state == "expired" {
            body += "<p id=\"result\" data-status=\"expired\" class=\"error\">\(en ? "This checkout has expired." : "このお支払いページは有効期限が切れています。")</p>"
            if let cancel = session.cancelURL { body += "<p><a href=\"\(escape(cancel))\">\(en ? "Return to the shop" : "ショップに戻る")</a></p>" }
        } else {
            if let error { body += "<p id=\"error\" class=\"error\" role=\"alert\">\(escape(error))</p>" }
            body += """
                <form method="post" action="/checkout/\(session.id.rawValue)" autocomplete="on">
                <label for="email">\(en ? "Email" : "メールアドレス")</label><input id="email" name="email" type="email" autocomplete="email" value="\(escape(email.isEmpty ? session.customerEmail ?? "" : email))">
                <label for="name">\(en ? "Name on card" : "カード名義")</label><input id="name" name="name" autocomplete="cc-name" value="\(escape(name))">
                <label for="cardnumber">\(en ? "Card number" : "カード番号")</label><input id="cardnumber" name="cardnumber" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234" maxlength="23" required>
                <div class="two"><div><label for="exp">\(en ? "Expiry (MM / YY)" : "有効期限 (MM / YY)")</label><input id="exp" name="exp" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY" maxlength="7" required></div>
                <div><label for="cvc">\(en ? "Security code" : "セキュリティコード")</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC" maxlength="4" required></div></div>
                <button id="pay" type="submit">\(escape(ThreeDSecureController.format(session.amountTotal, session.currency))) \(en ? "Pay" : "支払う")</button>
                </form>
                """
            if let cancel = session.cancelURL {
                body += "<p><a id=\"cancel\" href=\"\(escape(cancel))\">\(en ? "Cancel and return to the shop" : "キャンセルしてショップに戻る")</a></p>"
            }
            body +=
                "<p class=\"note\">\(en ? "Card details are sent to Kessai only; the shop never sees them." : "カード情報は Kessai にのみ送信され、ショップには渡りません。")</p>"
        }
        let html = """
            <!doctype html><html lang="\(language)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(en ? "Checkout" : "お支払い") — Kessai</title><style>\(Self.style)</style></head><body><main>\(body)</main></body></html>
            """
        var response = HostedPage.response(html, status: status, policy: policy(session))
        response.headers[.init("X-Frame-Options")!] = "DENY"
        return response
    }

    /// What the buyer reads when a payment did not go through.
    static func message(_ error: APIError?, en: Bool) -> String {
        let code = error?.declineCode ?? error?.code ?? ""
        let japanese: [String: String] = [
            "incorrect_number": "カード番号が正しくありません。", "invalid_number": "カード番号が正しくありません。",
            "invalid_expiry_month": "有効期限の月が正しくありません。", "invalid_expiry_year": "有効期限の年が正しくありません。",
            "expired_card": "このカードは有効期限が切れています。", "invalid_cvc": "セキュリティコードが正しくありません。",
            "incorrect_cvc": "セキュリティコードが正しくありません。", "insufficient_funds": "カードの利用可能額が不足しています。",
            "lost_card": "このカードはご利用いただけません。", "stolen_card": "このカードはご利用いただけません。",
            "processing_error": "処理中にエラーが発生しました。もう一度お試しください。",
            "payment_intent_authentication_failure": "本人認証 (3-D Secure) に失敗しました。別のカードをお試しください。",
        ]
        if en {
            if let error, error.kind == .card || error.status == 402 || error.status == 400 { return error.message }
            return "The payment could not be completed. Please try another card."
        }
        return japanese[code] ?? "カードが承認されませんでした。別のカードをお試しください。"
    }
}
