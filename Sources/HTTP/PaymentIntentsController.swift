import Hummingbird
import KessaiCore
import Ledger
import Merchants
import Payments
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/v1/payment_intents`: create, retrieve, update, confirm, capture, cancel and list, with the
/// secret key; retrieve and confirm also with the publishable key and the intent's
/// `client_secret`, as a buyer's browser does.
struct PaymentIntentsController: Sendable {
    let payments: CardPayments
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    let publicURL: String
    /// Konbini, Pay-easy and e-money intents are created and confirmed here.
    let cash: CashPayments
    /// Caps on card confirmations per intent and per source address.
    let attempts: AttemptLimits
    let refusals: Refusals
    /// `expand[]`: `latest_charge`, `payment_method`.
    let expander: Expander

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/payment_intents", use: create)
        router.get("/v1/payment_intents", use: list)
        router.get("/v1/payment_intents/:id", use: retrieve)
        router.post("/v1/payment_intents/:id", use: update)
        router.post("/v1/payment_intents/:id/confirm", use: confirm)
        router.post("/v1/payment_intents/:id/capture", use: capture)
        router.post("/v1/payment_intents/:id/cancel", use: cancel)
    }

    func dto(_ intent: PaymentIntent) -> JSONValue { PaymentIntentDTO(intent: intent, publicURL: publicURL).json }

    /// What a key may expand: a publishable key sees the reduced intent, with nothing expanded.
    func expandable(_ key: AuthenticatedKey) -> Set<String> { key.kind == .secret ? Expander.intent : [] }

    /// Runs `body` and expands in its answer what the request's `expand[]` asks for.
    func expanded(_ parameters: Parameters, _ key: AuthenticatedKey, _ body: () async throws -> JSONValue) async throws -> JSONValue {
        try await expander.apply(parameters.expansions(), merchant: key.merchant, to: try await body())
    }

    /// The intent as the key that asked may see it: reduced for a publishable key.
    func dto(_ intent: PaymentIntent, for key: AuthenticatedKey) -> JSONValue {
        key.kind == .publishable ? PaymentIntentDTO(intent: intent, publicURL: publicURL).publishableJSON : dto(intent)
    }

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try await expanded(parameters, key) {
                try parameters.allowOnly(
                    [
                        "amount", "currency", "payment_method", "payment_method_types", "capture_method", "confirm", "description", "metadata", "receipt_email",
                        "statement_descriptor_suffix",
                        "return_url", "expand", "automatic_payment_methods", "payment_method_options", "confirmation_method", "payment_method_data",
                    ], expandable: expandable(key))
                var new = CardPayments.NewIntent(amount: 0, currency: .jpy)
                new.currency = try Self.currency(parameters)
                guard let amount = try Self.amount(parameters, currency: new.currency) else { throw APIError.missing("amount") }
                new.amount = try Self.checkAmount(Int64(amount), currency: new.currency)
                new.captureMethod = try Self.captureMethod(parameters) ?? .automatic
                new.paymentMethod = try Self.paymentMethod(parameters)
                new.paymentMethodTypes = try Self.paymentMethodTypes(parameters) ?? ["card"]
                try Self.automaticPaymentMethods(parameters)
                if let method = try parameters.string("confirmation_method"), !["automatic", "manual"].contains(method) {
                    throw APIError.invalid("confirmation_method", "confirmation_method must be automatic or manual.")
                }
                new.description = try BillingDetailsInput.text(parameters, "description", maximum: 1000)
                new.metadata = try MetadataInput.parse(parameters.object("metadata"))
                new.receiptEmail = try Self.email(parameters, "receipt_email")
                new.statementDescriptorSuffix = try Self.statementDescriptorSuffix(parameters)
                new.returnURL = try Self.returnURL(parameters)
                let confirm = try Self.boolean(parameters, "confirm") ?? false
                if new.returnURL != nil && !confirm {
                    throw APIError.invalid("return_url", "return_url can only be passed with confirm=true.")
                }
                if let method = new.paymentMethodTypes.first, CashPayments.methods.contains(method) {
                    guard new.captureMethod == .automatic else {
                        throw APIError.invalid("capture_method", "\(method) payments are captured automatically; capture_method must be automatic.")
                    }
                    guard new.paymentMethod == nil else {
                        throw APIError.invalid("payment_method", "\(method) takes payment_method_data[type]=\(method), not a payment method id.")
                    }
                    let details = try CashInput.details(parameters, method: method)
                    let intent = try await cash.create(new, method: method, details: details, merchant: key.merchant, livemode: key.livemode)
                    context.logger.info("payment intent created", metadata: ["payment_intent": "\(intent.id)", "method": "\(method)"])
                    guard confirm else { return dto(intent) }
                    return dto(try await cash.confirm(intent.id, merchant: key.merchant, details: nil, returnURL: new.returnURL))
                }
                if try parameters.object("payment_method_data") != nil {
                    throw APIError.invalid(
                        "payment_method_data", "Card details are tokenized in the buyer's browser with the publishable key; pass payment_method=pm_… instead.")
                }
                try Self.paymentMethodOptions(parameters)
                guard confirm else {
                    let intent = try await payments.create(new, merchant: key.merchant, livemode: key.livemode)
                    context.logger.info("payment intent created", metadata: ["payment_intent": "\(intent.id)", "merchant": "\(key.merchant)"])
                    return dto(intent)
                }
                let confirmation = CardPayments.Confirmation(returnURL: new.returnURL, idempotencyKey: try idempotency.storedKey(request))
                return try await confirmed(key: key, context: context) { access in
                    try await payments.createAndConfirm(new, merchant: key.merchant, livemode: key.livemode, confirmation, context: access)
                }
            }
        }
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .either)
        let query = try reader.query(request)
        try query.allowOnly(["expand", "client_secret"], expandable: expandable(key))
        let id = try Self.intentID(context)
        guard let intent = try await payments.retrieve(id, merchant: key.merchant) else { throw APIError.notFound("payment_intent", id: id.rawValue) }
        if key.kind == .publishable { try Self.checkClientSecret(try query.string("client_secret"), intent) }
        return JSONResponse.make(try await expander.apply(query.expansions(), merchant: key.merchant, to: dto(intent, for: key)))
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "starting_after", "ending_before", "created", "expand"], expandable: Expander.intentList)
        let (limit, after, before) = try ListParameters.parse(query, PaymentIntentID.self)
        let (intents, hasMore) = try await payments.list(
            merchant: key.merchant, limit: limit, startingAfter: after, endingBefore: before, created: try ListParameters.created(query))
        return JSONResponse.make(
            try await expander.apply(
                query.expansions(), merchant: key.merchant, to: ListDTO.make(intents.map(dto), hasMore: hasMore, url: "/v1/payment_intents")))
    }

    @Sendable func update(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try Self.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try await expanded(parameters, key) {
                try parameters.allowOnly(
                    [
                        "amount", "currency", "payment_method", "payment_method_types", "capture_method", "description", "metadata", "receipt_email",
                        "statement_descriptor_suffix", "expand",
                        "payment_method_options",
                    ], expandable: expandable(key))
                var update = CardPayments.IntentUpdate()
                if parameters.has("currency") { update.currency = try Self.currency(parameters) }
                if let amount = try Self.amount(parameters, currency: update.currency ?? .jpy) {
                    update.amount = try Self.checkAmount(Int64(amount), currency: update.currency ?? .jpy, checkMaximum: update.currency != nil)
                }
                update.captureMethod = try Self.captureMethod(parameters)
                update.paymentMethod = try Self.paymentMethod(parameters)
                update.paymentMethodTypes = try Self.paymentMethodTypes(parameters)
                if let types = update.paymentMethodTypes, types.contains(where: { CashPayments.methods.contains($0) }) {
                    throw APIError.invalid(
                        "payment_method_types", "A PaymentIntent's type cannot be changed to konbini, payeasy or emoney; create a new PaymentIntent.",
                        code: "payment_intent_invalid_parameter")
                }
                try Self.paymentMethodOptions(parameters)
                if parameters.has("description") { update.description = try BillingDetailsInput.text(parameters, "description", maximum: 1000) ?? "" }
                if parameters.has("receipt_email") { update.receiptEmail = try Self.email(parameters, "receipt_email") ?? "" }
                if parameters.has("statement_descriptor_suffix") { update.statementDescriptorSuffix = try Self.statementDescriptorSuffix(parameters) ?? "" }
                if let metadata = try parameters.object("metadata") {
                    var changes: [String: String?] = [:]
                    for (name, value) in metadata.entries {
                        guard case .string(let text) = value else { throw APIError.invalid(metadata.name(name), "Metadata values must be strings.") }
                        _ = try MetadataInput.parse(Parameters([name: .string(text.isEmpty ? "x" : text)], prefix: "metadata"))
                        changes[name] = text.isEmpty ? String?.none : text
                    }
                    update.metadata = changes
                }
                return dto(try await payments.update(id, merchant: key.merchant, update))
            }
        }
    }

    @Sendable func confirm(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .either)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try Self.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try await expanded(parameters, key) {
                try parameters.allowOnly(
                    [
                        "payment_method", "return_url", "expand", "client_secret", "receipt_email", "use_stripe_sdk", "payment_method_options",
                        "payment_method_data",
                    ], expandable: expandable(key))
                guard let current = try await payments.retrieve(id, merchant: key.merchant) else { throw APIError.notFound("payment_intent", id: id.rawValue) }
                if key.kind == .publishable {
                    try Self.checkClientSecret(try parameters.string("client_secret"), current)
                }
                if let method = current.paymentMethodTypes.first, CashPayments.methods.contains(method) {
                    let details = try CashInput.details(parameters, method: method)
                    if let email = try Self.email(parameters, "receipt_email") {
                        var update = CardPayments.IntentUpdate()
                        update.receiptEmail = email
                        _ = try await payments.update(id, merchant: key.merchant, update)
                    }
                    return dto(try await cash.confirm(id, merchant: key.merchant, details: details, returnURL: try Self.returnURL(parameters)), for: key)
                }
                if try parameters.object("payment_method_data") != nil {
                    throw APIError.invalid(
                        "payment_method_data", "Card details are tokenized in the buyer's browser with the publishable key; pass payment_method=pm_… instead.")
                }
                try Self.paymentMethodOptions(parameters)
                try await countAttempt(id, key: key, context: context)
                if let email = try Self.email(parameters, "receipt_email") {
                    var update = CardPayments.IntentUpdate()
                    update.receiptEmail = email
                    _ = try await payments.update(id, merchant: key.merchant, update)
                }
                let confirmation = CardPayments.Confirmation(
                    paymentMethod: try Self.paymentMethod(parameters), returnURL: try Self.returnURL(parameters),
                    idempotencyKey: try idempotency.storedKey(request))
                return try await confirmed(id, merchant: key.merchant, confirmation, key: key, context: context)
            }
        }
    }

    /// Counts a card confirmation against the intent's cap and, from a buyer's browser
    /// (publishable key), against the source address's window; refuses past either.
    func countAttempt(_ id: PaymentIntentID, key: AuthenticatedKey, context: KessaiRequestContext) async throws {
        if key.kind == .publishable && !attempts.allowSource(context.remoteAddress) {
            await refusals.attempts("source_rate", object: id.rawValue, context: context)
            throw AttemptLimits.sourceLimited
        }
        guard try await attempts.count(id.rawValue) <= attempts.policy.perIntent else {
            await refusals.attempts("intent_attempts", object: id.rawValue, context: context)
            throw AttemptLimits.intentExhausted
        }
    }

    /// Confirms, turning a decline into Stripe's 402 with the intent attached.
    func confirmed(
        _ id: PaymentIntentID, merchant: MerchantID, _ confirmation: CardPayments.Confirmation, key: AuthenticatedKey, context: KessaiRequestContext
    ) async throws -> JSONValue {
        try await confirmed(key: key, context: context) { access in
            try await payments.confirm(id, merchant: merchant, confirmation, context: access)
        }
    }

    /// Runs a confirmation (of a stored intent, or of one created with it).
    func confirmed(
        key: AuthenticatedKey, context: KessaiRequestContext, _ confirm: (AccessContext) async throws -> PaymentIntent
    ) async throws -> JSONValue {
        let access = AccessContext(actor: LedgerActor(.merchantKey, key.id.rawValue), requestID: context.requestID.rawValue, source: context.remoteAddress)
        do {
            let intent = try await confirm(access)
            context.logger.info("payment intent confirmed", metadata: ["payment_intent": "\(intent.id)", "status": "\(intent.status.rawValue)"])
            return dto(intent, for: key)
        } catch let declined as PaymentDeclined {
            context.logger.info(
                "card declined",
                metadata: [
                    "payment_intent": "\(declined.intent.id)", "code": "\(declined.error.code)", "decline_code": "\(declined.error.declineCode ?? "")",
                ])
            throw ErrorMapping.declined(declined, intentJSON: dto(declined.intent, for: key))
        }
    }

    @Sendable func capture(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try Self.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try await expanded(parameters, key) {
                try parameters.allowOnly(["amount_to_capture", "expand", "metadata", "final_capture"], expandable: expandable(key))
                let amount = try parameters.integer("amount_to_capture", maximumDigits: 12).map(Int64.init)
                if let amount, amount < 1 { throw APIError.invalid("amount_to_capture", "amount_to_capture must be a positive integer.") }
                if let metadata = try parameters.object("metadata") {
                    var update = CardPayments.IntentUpdate()
                    update.metadata = try MetadataInput.parse(metadata).mapValues { Optional($0) }
                    _ = try await payments.update(id, merchant: key.merchant, update)
                }
                let intent = try await payments.capture(id, merchant: key.merchant, amount: amount)
                context.logger.info("payment intent captured", metadata: ["payment_intent": "\(id)", "status": "\(intent.status.rawValue)"])
                return dto(intent)
            }
        }
    }

    @Sendable func cancel(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        let id = try Self.intentID(context)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try await expanded(parameters, key) {
                try parameters.allowOnly(["cancellation_reason", "expand"], expandable: expandable(key))
                var reason: PaymentIntent.CancellationReason?
                if let text = try parameters.string("cancellation_reason") {
                    let allowed: [PaymentIntent.CancellationReason] = [.duplicate, .fraudulent, .requestedByCustomer, .abandoned]
                    guard let parsed = PaymentIntent.CancellationReason(rawValue: text), allowed.contains(parsed) else {
                        throw APIError.invalid(
                            "cancellation_reason", "Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, abandoned.")
                    }
                    reason = parsed
                }
                let canceled = try await payments.cancel(id, merchant: key.merchant, reason: reason)
                if let method = canceled.paymentMethodTypes.first, CashPayments.methods.contains(method) { try await cash.canceled(id) }
                return dto(canceled)
            }
        }
    }
}
