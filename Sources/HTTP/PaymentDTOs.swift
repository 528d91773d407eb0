import KessaiCore
import Payments

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The wire form of a PaymentIntent, shaped as Stripe's `payment_intent` object.
struct PaymentIntentDTO {
    let intent: PaymentIntent
    /// Where Kessai's pages are reached from a browser (`next_action` links there).
    let publicURL: String

    /// What a publishable key (with the client secret) may see: what a payment page needs to
    /// drive the payment, without what the merchant stored for itself (`metadata`,
    /// `description`, `receipt_email`, the charge and its details).
    static let publishableFields: Set<String> = [
        "id", "object", "amount", "automatic_payment_methods", "canceled_at", "cancellation_reason", "capture_method", "client_secret",
        "confirmation_method", "created", "currency", "last_payment_error", "livemode", "next_action", "payment_method", "payment_method_types",
        "processing", "setup_future_usage", "shipping", "status",
    ]

    /// The object for a publishable key: ``publishableFields`` only.
    var publishableJSON: JSONValue {
        guard case .object(let members) = json else { return json }
        return .object(members.filter { Self.publishableFields.contains($0.0) })
    }

    var json: JSONValue {
        var nextAction: JSONValue = nil
        if intent.status == .requiresAction, let action = intent.nextAction {
            nextAction = NextActionDTO.json(action)
        } else if intent.status == .requiresAction, let challenge = intent.challengeID {
            nextAction = NextActionDTO.json(.redirect(url: "\(publicURL)/3ds/\(challenge)", returnURL: intent.returnURL))
        }
        var lastError: JSONValue = nil
        if let error = intent.lastPaymentError {
            var members: [(String, JSONValue)] = [("code", .string(error.code))]
            if let decline = error.declineCode { members.append(("decline_code", .string(decline))) }
            members.append(("message", .string(error.message)))
            if let method = error.paymentMethod {
                members.append(("payment_method", .object([("id", .string(method)), ("object", "payment_method"), ("type", "card")])))
            }
            members.append(("type", .string(error.type)))
            lastError = .object(members)
        }
        return .object([
            ("id", .string(intent.id.rawValue)),
            ("object", "payment_intent"),
            ("amount", .int(intent.amount)),
            ("amount_capturable", .int(intent.amountCapturable)),
            ("amount_details", .object([("tip", .object([]))])),
            ("amount_received", .int(intent.amountReceived)),
            ("application", nil),
            ("application_fee_amount", nil),
            ("automatic_payment_methods", nil),
            ("canceled_at", intent.canceledAt.map { .int($0.unixSeconds) } ?? nil),
            ("cancellation_reason", .optional(intent.cancellationReason?.rawValue)),
            ("capture_method", .string(intent.captureMethod.rawValue)),
            ("card_watch", intent.watch.map(CardWatchDTO.json) ?? nil),
            ("client_secret", .string(intent.clientSecret)),
            ("confirmation_method", "automatic"),
            ("created", .int(intent.created.unixSeconds)),
            ("currency", .string(intent.currency.code)),
            ("customer", nil),
            ("description", .optional(intent.description)),
            ("last_payment_error", lastError),
            ("latest_charge", .optional(intent.latestCharge?.rawValue)),
            ("livemode", .bool(intent.livemode)),
            ("metadata", .object(intent.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("next_action", nextAction),
            ("on_behalf_of", nil),
            ("payment_method", .optional(intent.paymentMethod?.rawValue)),
            ("payment_method_options", .object([("card", .object([("request_three_d_secure", "automatic")]))])),
            ("payment_method_types", .array(intent.paymentMethodTypes.map(JSONValue.string))),
            ("processing", nil),
            ("receipt_email", .optional(intent.receiptEmail)),
            ("review", nil),
            ("setup_future_usage", nil),
            ("shipping", nil),
            ("statement_descriptor", nil),
            ("statement_descriptor_suffix", .optional(intent.statementDescriptorSuffix)),
            ("status", .string(intent.status.rawValue)),
            ("transfer_data", nil),
            ("transfer_group", nil),
        ])
    }
}

/// The wire form of a refund, shaped as Stripe's `refund` object.
struct RefundDTO {
    let refund: Refund

    var json: JSONValue {
        .object([
            ("id", .string(refund.id.rawValue)),
            ("object", "refund"),
            ("amount", .int(refund.amount)),
            ("balance_transaction", nil),
            ("charge", .string(refund.charge.rawValue)),
            ("created", .int(refund.created.unixSeconds)),
            ("currency", .string(refund.currency.code)),
            ("failure_reason", .optional(refund.failureReason)),
            ("metadata", .object(refund.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("next_action", refund.nextAction.map(NextActionDTO.json) ?? nil),
            ("payment_intent", .string(refund.paymentIntent.rawValue)),
            ("reason", .optional(refund.reason?.rawValue)),
            ("receipt_number", nil),
            ("source_transfer_reversal", nil),
            ("status", .string(refund.status.rawValue)),
            ("transfer_reversal", nil),
        ])
    }
}

/// Stripe's list envelope.
enum ListDTO {
    static func make(_ items: [JSONValue], hasMore: Bool, url: String) -> JSONValue {
        .object([("object", "list"), ("data", .array(items)), ("has_more", .bool(hasMore)), ("url", .string(url))])
    }
}

/// Kessai's `card_watch` member of a PaymentIntent: the exposure watch its card fell under.
enum CardWatchDTO {
    static func json(_ watch: CardWatch) -> JSONValue {
        .object([("action", .string(watch.action.rawValue)), ("incident", .optional(watch.incident)), ("listed_at", .int(watch.listedAt))])
    }

    /// A charge's `outcome`, as Stripe reports an issuer's answer, or a payment its rules
    /// flagged or blocked (`reason: rule`, the rule's id in `rule`).
    static func outcome(_ charge: Charge) -> JSONValue {
        let succeeded = charge.status == "succeeded"
        guard let watch = charge.watch else {
            return .object([
                ("network_status", .string(succeeded ? "approved_by_network" : "declined_by_network")), ("reason", .optional(charge.declineCode)),
                ("risk_level", "not_assessed"), ("rule", nil), ("seller_message", .string(succeeded ? "Payment complete." : "The bank declined the payment.")),
                ("type", .string(succeeded ? "authorized" : "issuer_declined")),
            ])
        }
        let incident = watch.incident.map { " (\($0))" } ?? ""
        if watch.action == .refused {
            return .object([
                ("network_status", "not_sent_to_network"), ("reason", "rule"), ("risk_level", "highest"), ("rule", .string(CardWatch.rule)),
                (
                    "seller_message",
                    .string("Blocked: the card is on the exposure watch list\(incident) and this account refuses watched cards. It was not sent to the bank.")
                ),
                ("type", "blocked"),
            ])
        }
        return .object([
            ("network_status", .string(succeeded ? "approved_by_network" : "declined_by_network")), ("reason", "rule"), ("risk_level", "elevated"),
            ("rule", .string(CardWatch.rule)),
            (
                "seller_message",
                .string(
                    "\(succeeded ? "Payment complete" : "The bank declined the payment"); the card is on the exposure watch list\(incident): its number was exposed in an incident."
                )
            ),
            ("type", .string(succeeded ? "authorized" : "issuer_declined")),
        ])
    }
}
