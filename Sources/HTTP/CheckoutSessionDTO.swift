import KessaiCore
import Payments

/// Stripe's `checkout.session` and its `item`s: the wire shape of the domain's session.
extension CheckoutSession {
    func json(publicURL: String, now: Int64) -> JSONValue {
        let status = status(now: now)
        return .object([
            ("id", .string(id.rawValue)),
            ("object", "checkout.session"),
            ("amount_subtotal", .int(amountTotal)),
            ("amount_total", .int(amountTotal)),
            ("cancel_url", .optional(cancelURL)),
            ("client_reference_id", .optional(clientReferenceID)),
            ("created", .int(created)),
            ("currency", .string(currency.code)),
            ("customer", nil),
            ("customer_email", .optional(customerEmail)),
            ("expires_at", .int(expiresAt)),
            ("livemode", .bool(livemode)),
            ("locale", .optional(locale)),
            ("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("mode", "payment"),
            ("payment_intent", .string(paymentIntent.rawValue)),
            ("payment_method_types", .array(["card"])),
            ("payment_status", status == "complete" ? "paid" : "unpaid"),
            ("status", .string(status)),
            ("success_url", .string(successURL)),
            ("url", status == "open" ? .string("\(publicURL)/checkout/\(id.rawValue)") : nil),
        ])
    }

    func lineItemsJSON() -> JSONValue {
        .array(
            lineItems.enumerated().map { index, item in
                .object([
                    ("id", .string("li_\(id.rawValue.dropFirst(3).prefix(20))\(index)")),
                    ("object", "item"),
                    ("amount_subtotal", .int(item.amount)),
                    ("amount_total", .int(item.amount)),
                    ("currency", .string(currency.code)),
                    ("description", .string(item.name)),
                    ("price", .object([("object", "price"), ("currency", .string(currency.code)), ("unit_amount", .int(item.unitAmount))])),
                    ("quantity", .int(item.quantity)),
                ])
            })
    }
}
