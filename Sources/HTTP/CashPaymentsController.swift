import Acquiring
import Crypto
import HTTPTypes
import Hummingbird
import KessaiCore
import NIOCore
import Payments

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Parses what the API takes for konbini, Pay-easy and e-money: `payment_method_data[…]` and
/// `payment_method_options[METHOD][…]`.
enum CashInput {
    /// nil when neither is given.
    static func details(_ parameters: Parameters, method: String) throws -> CashPayments.Details? {
        var details = CashPayments.Details()
        var given = false
        if let data = try parameters.object("payment_method_data") {
            given = true
            try data.allowOnly(["type", "billing_details", "emoney", "metadata", "konbini", "payeasy"])
            let type = try data.requiredString("type")
            guard type == method else {
                throw APIError.invalid(data.name("type"), "payment_method_data[type] must be \(method), the PaymentIntent's payment method type.")
            }
            details.billing = try BillingDetailsInput.parse(data.object("billing_details"))
            if let emoney = try data.object("emoney") {
                try emoney.allowOnly(["provider"])
                details.provider = try emoney.string("provider")
            }
        }
        if let options = try parameters.object("payment_method_options") {
            try options.allowOnly([method])
            if let mine = try options.object(method) {
                given = true
                switch method {
                case "konbini":
                    try mine.allowOnly(["expires_after_days", "expires_at", "confirmation_number", "product_description"])
                    if let number = try mine.string("confirmation_number") {
                        guard (10...11).contains(number.count), number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber) else {
                            throw APIError.invalid(mine.name("confirmation_number"), "confirmation_number must be 10 or 11 digits.")
                        }
                        details.confirmationNumber = number
                    }
                    if let text = try BillingDetailsInput.text(mine, "product_description", maximum: 22) { details.productDescription = text }
                case "payeasy":
                    try mine.allowOnly(["expires_after_days", "expires_at"])
                case "emoney":
                    try mine.allowOnly(["provider"])
                    details.provider = try mine.string("provider") ?? details.provider
                default: break
                }
                if method != "emoney" {
                    if let days = try mine.integer("expires_after_days", maximumDigits: 3) {
                        guard (1...60).contains(days) else {
                            throw APIError.invalid(mine.name("expires_after_days"), "expires_after_days must be between 1 and 60.")
                        }
                        details.expiresAfterDays = days
                    }
                    if let at = try mine.integer("expires_at", maximumDigits: 12) { details.expiresAt = Int64(at) }
                    if details.expiresAfterDays != nil && details.expiresAt != nil {
                        throw APIError.invalid(mine.name("expires_at"), "Pass expires_after_days or expires_at, not both.")
                    }
                }
            }
        }
        return given ? details : nil
    }
}

/// Test helpers (`POST /v1/test_helpers/payment_intents/{id}/pay`), the konbini voucher and
/// Pay-easy instructions pages (`/vouchers/{token}`), and the test e-money provider's page
/// (`/emoney/test/{token}`).
struct CashPaymentsController: Sendable {
    let cash: CashPayments
    let provider: TestEMoneyProvider
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let publicURL: String

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/test_helpers/payment_intents/:id/pay", use: pay)
        router.post("/v1/test_helpers/payment_intents/:id/expire", use: expire)
        router.get("/vouchers/:token", use: voucher)
        router.get("/emoney/test/:token", use: providerPage)
        router.post("/emoney/test/:token", use: providerAnswer)
    }

    func dto(_ intent: PaymentIntent) -> JSONValue { PaymentIntentDTO(intent: intent, publicURL: publicURL).json }

    /// The buyer paid at the counter or ATM (test mode only).
    @Sendable func pay(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try PaymentIntentsController.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["amount", "expand"])
            guard !key.livemode else {
                throw APIError(kind: .invalidRequest, code: "livemode_mismatch", message: "Test helpers take test-mode keys only.", status: 400)
            }
            return dto(try await cash.simulatePayment(id, merchant: key.merchant))
        }
    }

    /// Moves an unpaid intent past its deadline now (test mode only), as the scheduled job would.
    @Sendable func expire(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try PaymentIntentsController.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["expand"])
            guard !key.livemode else {
                throw APIError(kind: .invalidRequest, code: "livemode_mismatch", message: "Test helpers take test-mode keys only.", status: 400)
            }
            guard let record = try await cash.record(of: id), record.merchant == key.merchant else {
                throw APIError.notFound("payment_intent", id: id.rawValue)
            }
            guard try await cash.expire(id, force: true) else {
                throw APIError.unexpectedState("payment_intent_unexpected_state", "Only a PaymentIntent waiting for a cash payment can expire.")
            }
            guard let intent = try await cash.intent(id) else { throw APIError.notFound("payment_intent", id: id.rawValue) }
            return dto(intent)
        }
    }

    // MARK: Pages

    static let style = """
        *{box-sizing:border-box}body{margin:0;background:#f4f5f7;color:#1a1f36;font:16px/1.6 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif}\
        main{max-width:36rem;margin:1.5rem auto;background:#fff;border-radius:10px;padding:1.5rem 1.75rem;box-shadow:0 2px 10px rgba(0,0,0,.08)}\
        h1{font-size:1.25rem;margin:0 0 .5rem}h2{font-size:1rem;margin:1.2rem 0 .3rem;border-bottom:1px solid #e3e8ee}\
        .amount{font-size:1.6rem;font-weight:700}.deadline{color:#a40e26;font-weight:600}\
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0}dt{color:#697386}dd{margin:0;font-family:ui-monospace,monospace;font-size:1.1rem}\
        ol{margin:.3rem 0 .3rem 1.2rem;padding:0}.note{font-size:.85rem;color:#697386}\
        button{font:inherit;padding:.7rem 1.2rem;margin:.4rem .4rem 0 0;border-radius:6px;border:1px solid #ccd}.ok{background:#1a7f37;color:#fff}.ng{background:#fff;color:#a40e26}\
        @media print{body{background:#fff}main{box-shadow:none;margin:0;max-width:none}.noprint{display:none}}
        """
    static let styleHash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()

    static func page(_ title: String, _ body: String, language: String, status: HTTPResponse.Status = .ok, formAction: String = "'none'") -> Response {
        let html = """
            <!doctype html><html lang="\(language)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(HostedPage.escape(title))</title><style>\(style)</style></head><body><main>\(body)</main></body></html>
            """
        var response = HostedPage.response(
            html, status: status,
            policy: "default-src 'none'; style-src 'sha256-\(styleHash)'; form-action \(formAction); frame-ancestors 'none'; base-uri 'none'")
        response.headers[.init("X-Frame-Options")!] = "DENY"
        return response
    }

    static func language(_ request: Request) -> String {
        (request.headers[.acceptLanguage]?.lowercased() ?? "").hasPrefix("en") ? "en" : "ja"
    }

    static func jst(_ unix: Int64, en: Bool) -> String {
        let local = unix + 9 * 3600
        let (y, m, d) = CashPayments.civil(fromDays: local / 86_400)
        let seconds = local % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let time = "\(two(seconds / 3600)):\(two(seconds % 3600 / 60))"
        return en ? "\(y)-\(two(m))-\(two(d)) \(time) JST" : "\(y)年\(m)月\(d)日 \(time)"
    }

    /// The konbini voucher or the Pay-easy instructions: amount, deadline, the numbers and what
    /// to do with them at each store or ATM. Printable, no script. Japanese; English by
    /// `Accept-Language`.
    @Sendable func voucher(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        let language = Self.language(request)
        let en = language == "en"
        guard token.utf8.count <= 64, let (record, intent) = try await cash.record(pageToken: token), record.method != "emoney",
            let expiresAt = record.expiresAt, intent.nextAction != nil || record.state == "paid"
        else {
            return Self.page(
                en ? "Not found" : "見つかりません", "<p>\(en ? "This payment slip does not exist." : "このお支払い番号は存在しません。")</p>", language: language, status: .notFound)
        }
        let escape = HostedPage.escape
        let amount = ThreeDSecureController.format(intent.amount, intent.currency)
        var body = ""
        let state: String
        switch (record.state, intent.status) {
        case ("paid", _): state = en ? "Paid — thank you." : "お支払い済みです。ありがとうございました。"
        case (_, .canceled): state = en ? "This payment has expired or was canceled." : "このお支払いは期限切れ、または取り消されました。"
        default: state = ""
        }
        let title = record.method == "konbini" ? (en ? "Pay at a convenience store" : "コンビニでのお支払い") : (en ? "Pay with Pay-easy" : "Pay-easy (ペイジー) でのお支払い")
        body += "<h1>\(title)</h1>"
        if let description = record.details.productDescription { body += "<p>\(escape(description))</p>" }
        body += "<p class=\"amount\" id=\"amount\">\(escape(amount))</p>"
        body += "<p class=\"deadline\" id=\"deadline\">\(en ? "Pay by" : "お支払い期限"): \(escape(Self.jst(expiresAt, en: en)))</p>"
        if !state.isEmpty { body += "<p id=\"state\" data-state=\"\(escape(record.state))\">\(state)</p>" }
        if record.method == "konbini", case .konbini(_, _, let numbers)? = intent.nextAction {
            let stores: [(String, String, String)] = [
                (
                    "familymart", en ? "FamilyMart" : "ファミリーマート",
                    en
                        ? "At the Multi-Copy machine choose “Convenience store payment”, enter the numbers below and take the slip to the counter."
                        : "マルチコピー機で「コンビニでお支払い」を選び、下の番号を入力して、出てきた申込券をレジへお持ちください。"
                ),
                (
                    "lawson", en ? "Lawson" : "ローソン",
                    en
                        ? "At the Loppi terminal choose “Various numbers”, enter the numbers below and pay at the counter within 30 minutes."
                        : "Loppi で「各種番号をお持ちの方」を選び、下の番号を入力して、30分以内にレジでお支払いください。"
                ),
                (
                    "ministop", en ? "Ministop" : "ミニストップ",
                    en
                        ? "At the Loppi terminal choose “Various numbers”, enter the numbers below and pay at the counter within 30 minutes."
                        : "Loppi で「各種番号をお持ちの方」を選び、下の番号を入力して、30分以内にレジでお支払いください。"
                ),
                (
                    "seicomart", en ? "Seicomart" : "セイコーマート",
                    en ? "Tell the staff “internet payment” and give the numbers below." : "レジで「インターネット支払い」とお伝えのうえ、下の番号をお知らせください。"
                ),
            ]
            for (key, name, instruction) in stores {
                let store = numbers[key]
                body += """
                    <h2>\(name)</h2><p>\(instruction)</p>
                    <dl id="\(key)"><dt>\(en ? "Confirmation number" : "確認番号")</dt><dd class="confirmation">\(escape(store?.confirmationNumber ?? "-"))</dd>
                    <dt>\(en ? "Payment code" : "お支払い受付番号")</dt><dd class="payment-code">\(escape(store?.paymentCode ?? "-"))</dd></dl>
                    """
            }
        } else if record.method == "payeasy", case .payeasy(_, _, let details)? = intent.nextAction {
            body += """
                <h2>\(en ? "Your numbers" : "お支払いに必要な番号")</h2>
                <dl id="payeasy"><dt>\(en ? "Institution number" : "収納機関番号")</dt><dd id="institution">\(escape(details.institutionNumber ?? "-"))</dd>
                <dt>\(en ? "Customer number" : "お客様番号")</dt><dd id="customer">\(escape(details.customerNumber ?? "-"))</dd>
                <dt>\(en ? "Confirmation number" : "確認番号")</dt><dd id="confirmation">\(escape(details.confirmationNumber ?? "-"))</dd></dl>
                <h2>\(en ? "At an ATM" : "ATM でのお支払い")</h2><ol>
                <li>\(en ? "Choose “Pay-easy” (or “Payments / 税金・料金払込み”)." : "「ペイジー」または「税金・料金払込み」を選びます。")</li>
                <li>\(en ? "Enter the institution number, customer number and confirmation number." : "収納機関番号・お客様番号・確認番号を入力します。")</li>
                <li>\(en ? "Check the amount and pay in cash or from your account." : "金額を確認し、現金またはキャッシュカードでお支払いください。")</li></ol>
                <h2>\(en ? "Online banking" : "インターネットバンキング")</h2>
                <p>\(en ? "Log in to your bank, choose Pay-easy payment and enter the same three numbers." : "ご利用の銀行にログインし、「ペイジー払い」から同じ3つの番号を入力してください。")</p>
                """
        }
        body +=
            "<p class=\"note noprint\">\(en ? "Print this page or note the numbers. Kessai issued them for this payment only." : "このページを印刷するか、番号を控えてください。番号はこのお支払い専用です。")</p>"
        return Self.page(title, body, language: language)
    }

    /// The test e-money provider's page (in place of the provider's own site).
    @Sendable func providerPage(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        guard token.utf8.count <= 64, let (record, intent) = try await cash.record(pageToken: token), record.method == "emoney",
            intent.status == .requiresAction
        else {
            return Self.page("Test e-money", "<p>このお支払いは終了しているか、存在しません。<br>This payment has ended or does not exist.</p>", language: "ja", status: .notFound)
        }
        let body = """
            <h1>テスト電子マネー / Test e-money</h1>
            <p>電子マネー事業者の代わりに Kessai が表示しているテスト画面です。<br>A test page shown by Kessai in place of the e-money provider.</p>
            <p class="amount" id="amount">\(HostedPage.escape(ThreeDSecureController.format(intent.amount, intent.currency)))</p>
            <form method="post" action="/emoney/test/\(HostedPage.escape(token))">
            <button class="ok" id="approve" name="result" value="approve">支払う / Approve</button>
            <button class="ng" id="refuse" name="result" value="refuse">拒否する / Refuse</button></form>
            """
        var formAction = "'self'"
        if let origin = intent.returnURL.flatMap(HostedPage.origin(of:)) { formAction += " " + origin }
        return Self.page("Test e-money", body, language: "ja", formAction: formAction)
    }

    @Sendable func providerAnswer(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        guard token.utf8.count <= 64, let (record, _) = try await cash.record(pageToken: token), record.method == "emoney",
            let session = record.providerSession
        else { throw APIError.notFound("e-money payment", id: String(token.prefix(64))) }
        let parameters = try await reader.body(request)
        try parameters.allowOnly(["result"])
        let result = try parameters.requiredString("result")
        guard result == "approve" || result == "refuse" else { throw APIError.invalid("result", "result must be approve or refuse.") }
        _ = try await provider.answer(session: session, approved: result == "approve")
        guard let intent = try await cash.completeEMoney(pageToken: token) else { throw APIError.notFound("e-money payment", id: String(token.prefix(64))) }
        context.logger.info("e-money answered", metadata: ["payment_intent": "\(intent.id)", "status": "\(intent.status.rawValue)"])
        guard let returnURL = intent.returnURL, let back = HostedPage.redirectBack(returnURL, intent: intent, succeeded: intent.status == .succeeded)
        else {
            return Self.page("Test e-money", "<p id=\"result\">\(intent.status == .succeeded ? "OK" : "NG")</p>", language: "ja")
        }
        return back
    }
}
