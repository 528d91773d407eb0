import Hummingbird
import KessaiCore
import Payments

/// `/v1/refunds`: create (whole or partial, several up to the captured amount), retrieve, list.
struct RefundsController: Sendable {
    let payments: CardPayments
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency
    /// Refunds of konbini, Pay-easy and e-money payments go here.
    var cash: CashPayments? = nil

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/refunds", use: create)
        router.get("/v1/refunds", use: list)
        router.get("/v1/refunds/:id", use: retrieve)
    }

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["payment_intent", "charge", "amount", "reason", "metadata", "expand"])
            let intent: PaymentIntentID
            if let text = try parameters.string("payment_intent") {
                guard let id = PaymentIntentID(parsing: text) else {
                    throw APIError.notFound("payment_intent", id: String(text.prefix(64)), param: "payment_intent")
                }
                intent = id
            } else if let text = try parameters.string("charge") {
                guard let id = ChargeID(parsing: text), let charge = try await payments.charge(id, merchant: key.merchant) else {
                    throw APIError.notFound("charge", id: String(text.prefix(64)), param: "charge")
                }
                intent = charge.paymentIntent
            } else {
                throw APIError.missing("payment_intent")
            }
            var new = CardPayments.NewRefund(paymentIntent: intent)
            if let amount = try parameters.integer("amount", maximumDigits: 12) {
                guard amount >= 1 else { throw APIError.invalid("amount", "Refund amount must be a positive integer.") }
                new.amount = Int64(amount)
            }
            if let text = try parameters.string("reason"), !text.isEmpty {
                guard let reason = Refund.Reason(rawValue: text) else {
                    throw APIError.invalid("reason", "Invalid reason: must be one of duplicate, fraudulent, requested_by_customer.")
                }
                new.reason = reason
            }
            new.metadata = try MetadataInput.parse(parameters.object("metadata"))
            let refund: Refund
            if let cash, let record = try await cash.record(of: intent), record.merchant == key.merchant {
                refund = try await cash.refund(new, merchant: key.merchant)
            } else {
                refund = try await payments.refund(new, merchant: key.merchant)
            }
            context.logger.info("refund created", metadata: ["refund": "\(refund.id)", "payment_intent": "\(intent)", "status": "\(refund.status.rawValue)"])
            return RefundDTO(refund: refund).json
        }
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        try reader.query(request).allowOnly(["expand"])
        let raw = try context.parameters.require("id")
        guard let id = RefundID(parsing: raw), let refund = try await payments.retrieveRefund(id, merchant: key.merchant) else {
            throw APIError.notFound("refund", id: String(raw.prefix(64)))
        }
        return JSONResponse.make(RefundDTO(refund: refund).json)
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "starting_after", "ending_before", "payment_intent", "created", "expand"])
        let (limit, after, before) = try ListParameters.parse(query, RefundID.self)
        let created = try ListParameters.created(query)
        var intent: PaymentIntentID?
        if let text = try query.string("payment_intent"), !text.isEmpty {
            guard let id = PaymentIntentID(parsing: text) else {
                throw APIError.notFound("payment_intent", id: String(text.prefix(64)), param: "payment_intent")
            }
            intent = id
        }
        let (refunds, hasMore) = try await payments.listRefunds(
            merchant: key.merchant, paymentIntent: intent, limit: limit, startingAfter: after, endingBefore: before, created: created)
        return JSONResponse.make(ListDTO.make(refunds.map { RefundDTO(refund: $0).json }, hasMore: hasMore, url: "/v1/refunds"))
    }
}
