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

/// `POST/GET /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}[/line_items]`,
/// `POST /v1/checkout/sessions/{id}/expire` (secret key), and the hosted page the buyer pays
/// on, `GET/POST /checkout/{id}`.
///
/// The page has no script at all: the card form posts to Kessai's own origin, where the card
/// is tokenized into the vault exactly as `POST /v1/payment_methods` does and the intent
/// confirmed; a 3-D Secure challenge is Kessai's challenge page. Nothing on the page can be
/// swapped for a skimmer without breaking its Content-Security-Policy.
struct CheckoutController: Sendable {
    let sessions: CheckoutSessions
    let payments: CardPayments
    let paymentMethods: PaymentMethodStore
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let clock: any KessaiClock
    let publicURL: String
    /// Caps on card tries per session and per source address.
    let attempts: AttemptLimits
    let refusals: Refusals

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/checkout/sessions", use: create)
        router.get("/v1/checkout/sessions", use: list)
        router.get("/v1/checkout/sessions/:id", use: retrieve)
        router.get("/v1/checkout/sessions/:id/line_items", use: lineItems)
        router.post("/v1/checkout/sessions/:id/expire", use: expire)
        router.get("/checkout/:id", use: page)
        router.post("/checkout/:id", use: pay)
        router.get("/checkout/:id/return", use: returned)
    }

    var now: Int64 { clock.now().unixSeconds }

    // MARK: API

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            let new = try Self.parse(parameters, now: now)
            let session = try await sessions.create(new, merchant: key.merchant, livemode: key.livemode)
            context.logger.info("checkout session created", metadata: ["checkout_session": "\(session.id)", "payment_intent": "\(session.paymentIntent)"])
            return session.json(publicURL: publicURL, now: now)
        }
    }

    static func parse(_ parameters: Parameters, now: Int64) throws -> CheckoutSessions.New {
        try parameters.allowOnly([
            "mode", "line_items", "success_url", "cancel_url", "payment_method_types", "locale", "metadata", "client_reference_id", "customer_email",
            "expires_at", "payment_intent_data", "expand", "submit_type",
        ])
        let mode = try parameters.requiredString("mode")
        guard mode == "payment" else {
            throw APIError.invalid("mode", "Invalid mode: Kessai supports mode=payment only (no subscription or setup mode).")
        }
        guard let list = try parameters.object("line_items"), !list.isEmpty else { throw APIError.missing("line_items") }
        let indexed = try list.entries.map { entry -> (Int, Parameters) in
            guard let index = Int(entry.key), index >= 0, index < 100 else {
                throw APIError.invalid("line_items", "line_items must be a list: line_items[0][…], line_items[1][…], … (at most 100).")
            }
            guard let item = try list.object(entry.key) else { throw APIError.invalid(list.name(entry.key), "Each line item must be a hash.") }
            return (index, item)
        }.sorted { $0.0 < $1.0 }
        var currency: Currency?
        var items: [CheckoutSession.LineItem] = []
        for (_, item) in indexed {
            try item.allowOnly(["price_data", "quantity", "price"])
            if try item.string("price") != nil {
                throw APIError.invalid(item.name("price"), "Kessai has no Price objects: describe the item with price_data instead.")
            }
            guard let price = try item.object("price_data") else { throw APIError.missing(item.name("price_data")) }
            try price.allowOnly(["currency", "unit_amount", "product_data", "tax_behavior"])
            let code = try price.requiredString("currency")
            guard let itemCurrency = Currency(code: code) else {
                throw APIError.invalid(
                    price.name("currency"), "Invalid currency: \(code.prefix(10)). Kessai supports: \(Currency.all.map(\.code).joined(separator: ", ")).")
            }
            if let currency, currency != itemCurrency {
                throw APIError.invalid(price.name("currency"), "All line items must have the same currency.")
            }
            currency = itemCurrency
            guard let unitAmount = try price.integer("unit_amount", maximumDigits: 9) else { throw APIError.missing(price.name("unit_amount")) }
            guard unitAmount >= 0 else { throw APIError.invalid(price.name("unit_amount"), "unit_amount must be zero or more.") }
            guard let product = try price.object("product_data") else { throw APIError.missing(price.name("product_data")) }
            try product.allowOnly(["name", "description", "images", "metadata"])
            guard let name = try BillingDetailsInput.text(product, "name", maximum: 250) else { throw APIError.missing(product.name("name")) }
            guard let quantity = try item.integer("quantity", maximumDigits: 5) else { throw APIError.missing(item.name("quantity")) }
            guard (1...9999).contains(quantity) else { throw APIError.invalid(item.name("quantity"), "quantity must be between 1 and 9999.") }
            items.append(.init(name: name, unitAmount: Int64(unitAmount), quantity: Int64(quantity)))
        }
        guard let currency else { throw APIError.missing("line_items") }
        let total = items.reduce(Int64(0)) { $0 + $1.amount }
        guard total >= 50 else {
            throw APIError.invalid("line_items", "The total must be at least 50 \(currency.code).", code: "amount_too_small")
        }
        guard total <= currency.maximumAmount else {
            throw APIError.invalid("line_items", "The total must be no more than \(currency.maximumAmount) \(currency.code).", code: "amount_too_large")
        }
        guard let success = try PaymentIntentsController.url(parameters, "success_url") else { throw APIError.missing("success_url") }
        let cancel = try PaymentIntentsController.url(parameters, "cancel_url")
        if let types = try PaymentIntentsController.paymentMethodTypes(parameters), types != ["card"] {
            throw APIError.invalid(
                "payment_method_types", "Checkout takes card payments; konbini and Pay-easy are not available yet.", code: "payment_method_unactivated")
        }
        var locale = try parameters.string("locale")
        if let value = locale {
            guard ["auto", "ja", "en"].contains(value) else { throw APIError.invalid("locale", "locale must be auto, ja or en.") }
            if value == "auto" { locale = nil }
        }
        let expiresAt = try parameters.integer("expires_at", maximumDigits: 12).map(Int64.init) ?? now + 24 * 3600
        guard expiresAt >= now + 30 * 60, expiresAt <= now + 24 * 3600 else {
            throw APIError.invalid("expires_at", "expires_at must be between 30 minutes and 24 hours from now.")
        }
        var captureMethod = PaymentIntent.CaptureMethod.automatic
        var description: String?
        var intentMetadata: [String: String] = [:]
        if let data = try parameters.object("payment_intent_data") {
            try data.allowOnly(["capture_method", "description", "metadata"])
            captureMethod = try PaymentIntentsController.captureMethod(data) ?? .automatic
            description = try BillingDetailsInput.text(data, "description", maximum: 1000)
            intentMetadata = try MetadataInput.parse(data.object("metadata"))
        }
        return CheckoutSessions.New(
            lineItems: items, currency: currency, successURL: success, cancelURL: cancel, locale: locale,
            clientReferenceID: try BillingDetailsInput.text(parameters, "client_reference_id", maximum: 200),
            customerEmail: try PaymentIntentsController.email(parameters, "customer_email"), metadata: try MetadataInput.parse(parameters.object("metadata")),
            expiresAt: expiresAt, captureMethod: captureMethod, description: description, intentMetadata: intentMetadata)
    }

    func session(_ context: KessaiRequestContext, merchant: MerchantID? = nil) async throws -> CheckoutSession {
        let raw = try context.parameters.require("id")
        guard let id = CheckoutSessionID(parsing: raw), let session = try await sessions.find(id, merchant: merchant) else {
            throw APIError.notFound("checkout.session", id: String(raw.prefix(64)))
        }
        return session
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["expand"], expandable: ["line_items"])
        let found = try await session(context, merchant: key.merchant)
        var json = found.json(publicURL: publicURL, now: now)
        if try query.expansions().contains("line_items"), case .object(var members) = json, case .array(let items) = found.lineItemsJSON() {
            members.append(("line_items", ListDTO.make(items, hasMore: false, url: "/v1/checkout/sessions/\(found.id)/line_items")))
            json = .object(members)
        }
        return JSONResponse.make(json)
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "expand"])
        let limit = try query.integer("limit", maximumDigits: 3) ?? 10
        guard (1...100).contains(limit) else { throw APIError.invalid("limit", "limit must be between 1 and 100.") }
        let (found, hasMore) = try await sessions.list(merchant: key.merchant, limit: limit)
        return JSONResponse.make(ListDTO.make(found.map { $0.json(publicURL: publicURL, now: now) }, hasMore: hasMore, url: "/v1/checkout/sessions"))
    }

    @Sendable func lineItems(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "expand"])
        let limit = try query.limit()
        let found = try await session(context, merchant: key.merchant)
        guard case .array(let items) = found.lineItemsJSON() else { return JSONResponse.make(.null) }
        return JSONResponse.make(
            ListDTO.make(Array(items.prefix(limit)), hasMore: items.count > limit, url: "/v1/checkout/sessions/\(found.id)/line_items"))
    }

    @Sendable func expire(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["expand"])
            let found = try await session(context, merchant: key.merchant)
            guard found.status(now: now) == "open", try await sessions.expire(found) else {
                throw APIError(
                    kind: .invalidRequest, code: "checkout_session_not_open", message: "Only an open Checkout Session can be expired.", status: 400)
            }
            return try await session(context, merchant: key.merchant).json(publicURL: publicURL, now: now)
        }
    }

    // MARK: The hosted page
    /// The page a buyer is sent to. The session id (48 random characters) is its credential.
    @Sendable func page(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let found = try await pageSession(context)
        return render(found, language: Self.language(found, request))
    }

    func pageSession(_ context: KessaiRequestContext) async throws -> CheckoutSession {
        do { return try await session(context) } catch is APIError {
            throw APIError(kind: .invalidRequest, code: "resource_missing", message: "No such checkout page.", status: 404)
        }
    }

    /// Expires a session that used up its tries and shows it as expired.
    func exhausted(_ session: CheckoutSession, language: String) async throws -> Response {
        _ = try await sessions.expire(session)
        let expired = try await sessions.find(session.id) ?? session
        return render(expired, language: language, status: .gone)
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    @Sendable func pay(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let found = try await pageSession(context)
        let language = Self.language(found, request)
        let en = language == "en"
        guard found.status(now: now) == "open" else { return render(found, language: language, status: .conflict) }
        let form: Parameters
        do {
            form = try await reader.body(request, cardFields: ["cardnumber"])
        } catch let refusal as CardNumberInFreeText {
            await refusals.cardNumber(refusal, path: request.uri.path, context: context)
            let message = en ? "Enter the card number in the card number field only." : "カード番号はカード番号の欄にだけ入力してください。"
            return render(found, language: language, error: message, name: "", email: "", status: .badRequest)
        }
        let name = (try? form.string("name")) ?? nil
        let email = (try? form.string("email")) ?? nil
        guard attempts.allowSource(context.remoteAddress) else {
            await refusals.attempts("source_rate", object: found.id.rawValue, context: context)
            let message = en ? "Too many attempts. Wait a minute and try again." : "試行回数が多すぎます。1 分ほど待ってからもう一度お試しください。"
            return render(found, language: language, error: message, name: name ?? "", email: email ?? "", status: .tooManyRequests)
        }
        let tries = try await attempts.count(found.id.rawValue)
        guard tries <= attempts.policy.perSession else {
            await refusals.attempts("session_attempts", object: found.id.rawValue, context: context)
            return try await exhausted(found, language: language)
        }
        func again(_ message: String) -> Response {
            render(found, language: language, error: message, name: name ?? "", email: email ?? "", status: .init(code: 402))
        }
        /// A failed try: the page again, or, after the session's last try, the session expires.
        func failed(_ message: String) async throws -> Response {
            guard tries < attempts.policy.perSession else {
                await refusals.attempts("session_attempts", object: found.id.rawValue, context: context)
                return try await exhausted(found, language: language)
            }
            return again(message)
        }
        // The buyer's form, in the API's words, through the same parser as POST /v1/payment_methods.
        let digits = { (text: String?) in String((text ?? "").unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init)) }
        let expiry = digits(try? form.string("exp"))
        guard expiry.count == 4 || expiry.count == 6 else {
            return again(en ? "Enter the expiry as MM / YY." : "有効期限を MM / YY の形で入力してください。")
        }
        var card: [String: FormValue] = [
            "number": .string(digits(try? form.string("cardnumber"))), "exp_month": .string(String(expiry.prefix(2))),
            "exp_year": .string(expiry.count == 4 ? "20" + expiry.suffix(2) : String(expiry.suffix(4))),
        ]
        let cvc = digits(try? form.string("cvc"))
        if !cvc.isEmpty { card["cvc"] = .string(cvc) }
        var billing: [String: FormValue] = [:]
        if let name, !name.isEmpty { billing["name"] = .string(name) }
        if let email, !email.isEmpty { billing["email"] = .string(email) }
        let access = AccessContext(
            actor: LedgerActor(.system, "checkout:\(found.id.rawValue.prefix(12))"), requestID: context.requestID.rawValue, source: context.remoteAddress)
        let intent: PaymentIntent
        do {
            let tokenization = try PaymentMethodsController.CreateRequest.parse(
                Parameters(["type": .string("card"), "card": .object(card), "billing_details": .object(billing)]), now: clock.now())
            let method = try await paymentMethods.tokenize(tokenization, merchant: found.merchant, livemode: found.livemode, context: access)
            intent = try await payments.confirm(
                found.paymentIntent, merchant: found.merchant,
                .init(paymentMethod: method.id, returnURL: "\(publicURL)/checkout/\(found.id.rawValue)/return"), context: access)
        } catch let declined as PaymentDeclined {
            context.logger.info("checkout payment declined", metadata: ["checkout_session": "\(found.id)", "code": "\(declined.error.code)"])
            return try await failed(Self.message(ErrorMapping.declined(declined), en: en))
        } catch let refusal as PaymentsError {
            let error = ErrorMapping.apiError(refusal)
            context.logger.info("checkout payment refused", metadata: ["checkout_session": "\(found.id)", "code": "\(error.code ?? error.kind.rawValue)"])
            return try await failed(Self.message(error, en: en))
        } catch let error as APIError {
            context.logger.info("checkout payment refused", metadata: ["checkout_session": "\(found.id)", "code": "\(error.code ?? error.kind.rawValue)"])
            return try await failed(Self.message(error, en: en))
        }
        switch intent.status {
        case .succeeded, .requiresCapture, .processing:
            try await sessions.complete(found)
            return redirect(found.resolvedSuccessURL)
        case .requiresAction:
            guard let challenge = intent.challengeID else { return again(Self.message(nil, en: en)) }
            return redirect("\(publicURL)/3ds/\(challenge)")
        default:
            return again(Self.message(nil, en: en))
        }
    }

    /// Where the 3-D Secure challenge returns. A page with a refresh rather than a redirect: the
    /// challenge form's `form-action` does not (and need not) name the shop's origin.
    @Sendable func returned(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let found = try await pageSession(context)
        let language = Self.language(found, request)
        guard let intent = try await payments.retrieve(found.paymentIntent, merchant: found.merchant) else { return render(found, language: language) }
        guard [.succeeded, .requiresCapture, .processing].contains(intent.status) else {
            let message = intent.lastPaymentError.map { failure in
                var error = APIError(kind: .card, code: failure.code, message: failure.message, status: 402)
                error.declineCode = failure.declineCode
                return Self.message(error, en: language == "en")
            }
            return render(found, language: language, error: message ?? Self.message(nil, en: language == "en"), status: .init(code: 402))
        }
        try await sessions.complete(found)
        let target = HostedPage.escape(found.resolvedSuccessURL)
        let html = """
            <!doctype html><html lang="\(language)"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=\(target)">
            <style>\(Self.style)</style></head><body><main><p id="result" data-status="complete">\(language == "en" ? "Payment complete." : "お支払いが完了しました。")</p>
            <p><a href="\(target)">\(language == "en" ? "Return to the shop" : "ショップに戻る")</a></p></main></body></html>
            """
        return HostedPage.response(html, policy: "default-src 'none'; style-src 'sha256-\(Self.styleHash)'; frame-ancestors 'none'; base-uri 'none'")
    }
}
