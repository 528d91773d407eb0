import KessaiCore
import Payments

/// Stripe's `next_action` for an intent (`redirect_to_url`, `konbini_display_details`, Kessai's
/// `payeasy_display_details`) and a cash refund (`display_details`), from the domain's types.
enum NextActionDTO {
    static func json(_ action: NextAction) -> JSONValue {
        switch action {
        case .redirect(let url, let returnURL):
            return .object([
                ("redirect_to_url", .object([("return_url", .optional(returnURL)), ("url", .string(url))])),
                ("type", "redirect_to_url"),
            ])
        case .konbini(let expiresAt, let voucherURL, let stores):
            let perStore = NextAction.konbiniStores.map { store -> (String, JSONValue) in
                (
                    store,
                    .object([
                        ("confirmation_number", .optional(stores[store]?.confirmationNumber)), ("payment_code", .optional(stores[store]?.paymentCode)),
                    ])
                )
            }
            return .object([
                (
                    "konbini_display_details",
                    .object([("expires_at", .int(expiresAt)), ("hosted_voucher_url", .string(voucherURL)), ("stores", .object(perStore))])
                ),
                ("type", "konbini_display_details"),
            ])
        case .payeasy(let expiresAt, let url, let numbers):
            return .object([
                (
                    "payeasy_display_details",
                    .object([
                        ("confirmation_number", .optional(numbers.confirmationNumber)), ("customer_number", .optional(numbers.customerNumber)),
                        ("expires_at", .int(expiresAt)), ("hosted_instructions_url", .string(url)),
                        ("institution_number", .optional(numbers.institutionNumber)),
                    ])
                ),
                ("type", "payeasy_display_details"),
            ])
        }
    }

    static func json(_ action: RefundNextAction) -> JSONValue {
        .object([
            (
                "display_details",
                .object([
                    ("email_sent", .object([("email_sent_at", .int(action.emailSentAt)), ("email_sent_to", .optional(action.emailSentTo))])),
                    ("expires_at", .int(action.expiresAt)),
                ])
            ),
            ("type", "display_details"),
        ])
    }
}
