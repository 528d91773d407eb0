import Hummingbird
import KessaiCore
import Payments

/// `GET /v1/charges` (optionally `payment_intent=pi_…`, `created[…]`) and `GET /v1/charges/{id}`:
/// one charge per authorization, as reconciliation reads them.
struct ChargesController: Sendable {
    let payments: CardPayments
    let authenticator: Authenticator
    let reader: ParameterReader

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/v1/charges", use: list)
        router.get("/v1/charges/:id", use: retrieve)
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "starting_after", "ending_before", "payment_intent", "created", "expand"])
        let (limit, after, before) = try ListParameters.parse(query, ChargeID.self)
        var intent: PaymentIntentID?
        if let text = try query.string("payment_intent"), !text.isEmpty {
            guard let id = PaymentIntentID(parsing: text) else {
                throw APIError.notFound("payment_intent", id: String(text.prefix(64)), param: "payment_intent")
            }
            intent = id
        }
        let (charges, hasMore) = try await payments.listCharges(
            merchant: key.merchant, paymentIntent: intent, limit: limit, startingAfter: after, endingBefore: before,
            created: try ListParameters.created(query))
        return JSONResponse.make(ListDTO.make(charges.map { ChargeDTO(charge: $0).json }, hasMore: hasMore, url: "/v1/charges"))
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        try reader.query(request).allowOnly(["expand"])
        let raw = try context.parameters.require("id")
        guard let id = ChargeID(parsing: raw), let charge = try await payments.charge(id, merchant: key.merchant) else {
            throw APIError.notFound("charge", id: String(raw.prefix(64)))
        }
        return JSONResponse.make(ChargeDTO(charge: charge).json)
    }
}

/// Stripe's `charge` object, as much of it as Kessai keeps: never more of the card than the
/// payment method shows (brand, last 4 come from the payment method, not repeated here).
struct ChargeDTO {
    let charge: Charge

    var json: JSONValue {
        .object([
            ("id", .string(charge.id.rawValue)), ("object", "charge"), ("amount", .int(charge.amount)), ("amount_captured", .int(charge.amountCaptured)),
            ("amount_refunded", .int(charge.amountRefunded)), ("captured", .bool(charge.captured)), ("created", .int(charge.created.unixSeconds)),
            ("currency", .string(charge.currency.code)), ("failure_code", .optional(charge.failureCode)),
            ("failure_message", .optional(charge.failureMessage)),
            ("outcome", CardWatchDTO.outcome(charge)),
            ("paid", .bool(charge.status == "succeeded")), ("payment_intent", .string(charge.paymentIntent.rawValue)),
            ("payment_method", .string(charge.paymentMethod.rawValue)),
            (
                "payment_method_details",
                .object([
                    (
                        "card",
                        .object([
                            ("checks", .object([("cvc_check", .optional(charge.cvcCheck))])),
                            ("three_d_secure", charge.authentication.map { .object([("result", .string($0))]) } ?? .null),
                        ])
                    ), ("type", "card"),
                ])
            ),
            ("refunded", .bool(charge.amountRefunded > 0 && charge.amountRefunded >= charge.amountCaptured && charge.captured)),
            ("status", .string(charge.status)),
        ])
    }
}
