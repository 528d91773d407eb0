import Acquiring
public import KessaiCore
import Logging
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CashPayments {
    /// Confirms: validates what the method needs, registers with the network (or opens the
    /// provider's session), and moves the intent to `requires_action` with its `next_action`.
    public func confirm(_ id: PaymentIntentID, merchant: MerchantID, details later: Details?, returnURL: String?) async throws -> PaymentIntent {
        let now = clock.now()
        guard let existing = try await record(of: id), existing.merchant == merchant else {
            throw PaymentsError.notFound("payment_intent", id: id.rawValue, param: "intent")
        }
        let details = existing.details.merged(with: later)
        let method = existing.method
        guard
            let intentNow = try await database.withConnection({ db in
                try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue).first(decoding: PaymentIntentRow.self)?.domain()
            })
        else { throw PaymentsError.notFound("payment_intent", id: id.rawValue, param: "intent") }
        if intentNow.status == .requiresAction { return intentNow }
        guard [.requiresPaymentMethod, .requiresConfirmation].contains(intentNow.status) else {
            throw PaymentsError.unexpectedState(
                "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it has a status of \(intentNow.status.rawValue).", param: nil)
        }
        try Self.validate(details, method: method)
        // The deadline, and what the Stripe test addresses ask for.
        var expiresAt: Int64? = nil
        if method != "emoney" {
            if let at = details.expiresAt {
                guard at > now.unixSeconds, at <= now.unixSeconds + 60 * 86_400 else {
                    throw PaymentsError.invalid(
                        "payment_method_options[\(method)][expires_at]", "expires_at must be in the future and at most 60 days away.")
                }
                expiresAt = at
            } else {
                expiresAt = Self.deadline(afterDays: details.expiresAfterDays ?? 3, from: now)
            }
        }
        let email = details.billing.email?.lowercased() ?? ""
        var behavior: String? = nil
        if !intentNow.livemode {
            if email.contains("succeed_immediately@") { behavior = "succeed" }
            if email.contains("expire_immediately@") { behavior = "expire" }
            if email.contains("fill_never@") { behavior = "never" }
        }
        let token = Base62.random(count: 40)
        let action: NextAction
        var providerSession: String? = nil
        if method == "emoney" {
            guard let returnURL = returnURL ?? intentNow.returnURL else {
                throw PaymentsError.missing("return_url")
            }
            guard let provider = providers[details.provider ?? "test"] else {
                throw PaymentsError.invalid(
                    "payment_method_options[emoney][provider]", "Unknown e-money provider; Kessai offers: \(providers.keys.sorted().joined(separator: ", ")).")
            }
            providerSession = try await provider.start(reference: id.rawValue, amount: Money(minorUnits: intentNow.amount, currency: intentNow.currency))
            action = .redirect(url: "\(publicURL)/emoney/\(provider.name)/\(token)", returnURL: returnURL)
        } else {
            guard let network = networks[method], let expiresAt else { throw PaymentsError.invalid("payment_method_types", "\(method) is not available.") }
            let instructions = try await network.register(
                reference: id.rawValue, amount: Money(minorUnits: intentNow.amount, currency: intentNow.currency),
                expiresAt: Date(unixSeconds: expiresAt), confirmationNumber: details.confirmationNumber)
            let url = "\(publicURL)/vouchers/\(token)"
            action =
                method == "konbini"
                ? .konbini(expiresAt: expiresAt, voucherURL: url, stores: instructions.stores)
                : .payeasy(expiresAt: expiresAt, instructionsURL: url, numbers: instructions)
        }
        let deadline = expiresAt ?? (now.unixSeconds + 3600)
        let session = providerSession
        let testBehavior = behavior
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(id, merchant: merchant, on: db)
            if intent.status == .requiresAction { return intent }
            guard [.requiresPaymentMethod, .requiresConfirmation].contains(intent.status) else {
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state", "You cannot confirm this PaymentIntent because it has a status of \(intent.status.rawValue).",
                    param: nil)
            }
            try intent.move(to: .requiresAction)
            intent.paymentMethod = PaymentMethodID(rawValue: existing.paymentMethod)
            intent.nextAction = action
            intent.lastPaymentError = nil
            if let returnURL { intent.returnURL = returnURL }
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await db.update("cash_payments").set("state", to: "awaiting").set("options", to: try RowJSON.encode(details))
                .set("billing", to: try RowJSON.encode(details.billing)).set("expires_at", to: deadline)
                .set("page_token", to: token).set("provider_session", to: session).set("test_behavior", to: testBehavior)
                .set("updated_at", to: now.unixSeconds).where("payment_intent_id", .equal, id.rawValue).run()
            try await events.record(.paymentIntentRequiresAction, intent: intent, on: db)
            KessaiMetrics.payment(method: method, outcome: "requires_action")
            return intent
        }
    }

    static func validate(_ details: Details, method: String) throws {
        let prefix = "payment_method_data[billing_details]"
        switch method {
        case "konbini":
            guard details.billing.name?.isEmpty == false else { throw PaymentsError.missing("\(prefix)[name]") }
            guard details.billing.email?.isEmpty == false else { throw PaymentsError.missing("\(prefix)[email]") }
        case "payeasy":
            guard details.billing.name?.isEmpty == false else { throw PaymentsError.missing("\(prefix)[name]") }
            guard details.billing.phone?.isEmpty == false else { throw PaymentsError.missing("\(prefix)[phone]") }
        default:
            break
        }
    }

    public func intent(_ id: PaymentIntentID) async throws -> PaymentIntent? {
        try await database.withConnection { db in
            try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue).first(decoding: PaymentIntentRow.self)?.domain()
        }
    }

    /// After the merchant canceled a cash intent: the numbers are withdrawn, so the counter
    /// refuses them, and a late notification is refused here too.
    public func canceled(_ id: PaymentIntentID) async throws {
        let now = clock.now().unixSeconds
        let method: String? = try await database.withConnection { db in
            guard
                let row = try await db.select().column("method").from("cash_payments").where("payment_intent_id", .equal, id.rawValue)
                    .where("state", .in, ["new", "awaiting"]).first()
            else { return nil }
            try await db.update("cash_payments").set("state", to: "canceled").set("updated_at", to: now).where("payment_intent_id", .equal, id.rawValue)
                .where("state", .in, ["new", "awaiting"]).run()
            return try row.decode(column: "method", as: String.self)
        }
        if let method { try? await networks[method]?.withdraw(reference: id.rawValue) }
    }
}
