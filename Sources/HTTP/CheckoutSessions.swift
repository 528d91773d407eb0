import HTTPTypes
import Hummingbird
import KessaiCore
import Ledger
import Payments
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A hosted checkout session, in Stripe's Checkout Session shape (`mode=payment` only). Each
/// session owns one PaymentIntent for its total; the buyer pays it on Kessai's page at `url`.
struct CheckoutSession: Sendable {
    struct LineItem: Codable, Sendable {
        let name: String
        let unitAmount: Int64
        let quantity: Int64
        var amount: Int64 { unitAmount * quantity }
    }

    let id: CheckoutSessionID
    let merchant: MerchantID
    let livemode: Bool
    let paymentIntent: PaymentIntentID
    let storedStatus: String
    let amountTotal: Int64
    let currency: Currency
    let lineItems: [LineItem]
    let successURL: String
    let cancelURL: String?
    let locale: String?
    let clientReferenceID: String?
    let customerEmail: String?
    let metadata: [String: String]
    let created: Int64
    let expiresAt: Int64
    let completedAt: Int64?

    /// `open`, `complete`, or `expired` (an open session past `expires_at` is expired).
    func status(now: Int64) -> String {
        storedStatus == "open" && now >= expiresAt ? "expired" : storedStatus
    }

    /// `success_url` with Stripe's `{CHECKOUT_SESSION_ID}` template filled in.
    var resolvedSuccessURL: String { successURL.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id.rawValue) }

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

/// Stores checkout sessions; completes one exactly once, with its event.
struct CheckoutSessions: Sendable {
    let database: KessaiDatabase
    let payments: CardPayments
    let events: EventRecorder
    let clock: any KessaiClock
    let publicURL: String

    struct New: Sendable {
        var lineItems: [CheckoutSession.LineItem]
        var currency: Currency
        var successURL: String
        var cancelURL: String?
        var locale: String?
        var clientReferenceID: String?
        var customerEmail: String?
        var metadata: [String: String]
        var expiresAt: Int64
        var captureMethod: PaymentIntent.CaptureMethod
        var description: String?
        var intentMetadata: [String: String]
    }

    func create(_ new: New, merchant: MerchantID, livemode: Bool) async throws -> CheckoutSession {
        let total = new.lineItems.reduce(0) { $0 + $1.amount }
        var intent = CardPayments.NewIntent(amount: total, currency: new.currency)
        intent.captureMethod = new.captureMethod
        intent.description = new.description
        intent.metadata = new.intentMetadata
        intent.receiptEmail = new.customerEmail
        let created = try await payments.create(intent, merchant: merchant, livemode: livemode)
        let session = CheckoutSession(
            id: .random(), merchant: merchant, livemode: livemode, paymentIntent: created.id, storedStatus: "open", amountTotal: total,
            currency: new.currency, lineItems: new.lineItems, successURL: new.successURL, cancelURL: new.cancelURL, locale: new.locale,
            clientReferenceID: new.clientReferenceID, customerEmail: new.customerEmail, metadata: new.metadata, created: clock.now().unixSeconds,
            expiresAt: new.expiresAt, completedAt: nil)
        let items = String(decoding: try JSONEncoder().encode(session.lineItems), as: UTF8.self)
        let metadata = String(decoding: try JSONEncoder().encode(session.metadata), as: UTF8.self)
        try await database.withConnection { db in
            try await db.insert(into: "checkout_sessions")
                .columns(
                    "id", "merchant_id", "livemode", "payment_intent_id", "status", "amount_total", "currency", "line_items", "success_url", "cancel_url",
                    "locale", "client_reference_id", "customer_email", "metadata", "created_at", "expires_at"
                )
                .values(
                    SQLBind(session.id.rawValue), SQLBind(merchant.rawValue), SQLBind(livemode ? 1 : 0), SQLBind(created.id.rawValue), SQLBind("open"),
                    SQLBind(total), SQLBind(new.currency.code), SQLBind(items), SQLBind(new.successURL), SQLBind(new.cancelURL), SQLBind(new.locale),
                    SQLBind(new.clientReferenceID), SQLBind(new.customerEmail), SQLBind(metadata), SQLBind(session.created), SQLBind(new.expiresAt)
                ).run()
        }
        return session
    }

    /// A session by id; with `merchant`, only that merchant's.
    func find(_ id: CheckoutSessionID, merchant: MerchantID? = nil) async throws -> CheckoutSession? {
        try await database.withConnection { db in
            var query = db.select().column("*").from("checkout_sessions").where("id", .equal, id.rawValue)
            if let merchant { query = query.where("merchant_id", .equal, merchant.rawValue) }
            return try await query.first().map(Self.decode)
        }
    }

    func list(merchant: MerchantID, limit: Int) async throws -> ([CheckoutSession], Bool) {
        try await database.withConnection { db in
            let rows = try await db.select().column("*").from("checkout_sessions").where("merchant_id", .equal, merchant.rawValue)
                .orderBy("created_at", .descending).orderBy("id", .descending).limit(limit + 1).all()
            return (try rows.prefix(limit).map(Self.decode), rows.count > limit)
        }
    }

    /// Marks an open session complete and records `checkout.session.completed`, once.
    @discardableResult
    func complete(_ session: CheckoutSession) async throws -> Bool {
        let now = clock.now().unixSeconds
        return try await database.transaction { db in
            let changed = try await db.update("checkout_sessions").set("status", to: "complete").set("completed_at", to: now)
                .where("id", .equal, session.id.rawValue).where("status", .equal, "open").returning("id").all()
            guard !changed.isEmpty,
                let completed = try await db.select().column("*").from("checkout_sessions").where("id", .equal, session.id.rawValue)
                    .first().map(Self.decode)
            else { return false }
            try await events.record(
                .checkoutSessionCompleted, merchant: session.merchant, livemode: session.livemode, objectID: session.id.rawValue,
                object: completed.json(publicURL: publicURL, now: now), on: db)
            return true
        }
    }

    /// Expires an open session (and cancels its unpaid intent); false when it was not open.
    func expire(_ session: CheckoutSession) async throws -> Bool {
        let changed = try await database.withConnection { db in
            try await db.update("checkout_sessions").set("status", to: "expired").where("id", .equal, session.id.rawValue)
                .where("status", .equal, "open").returning("id").all()
        }
        guard !changed.isEmpty else { return false }
        if let intent = try await payments.retrieve(session.paymentIntent, merchant: session.merchant),
            [.requiresPaymentMethod, .requiresConfirmation, .requiresAction].contains(intent.status)
        {
            _ = try await payments.cancel(session.paymentIntent, merchant: session.merchant, reason: .abandoned)
        }
        return true
    }

    static func decode(_ row: any SQLRow) throws -> CheckoutSession {
        let items = try JSONDecoder().decode([CheckoutSession.LineItem].self, from: Data(try row.decode(column: "line_items", as: String.self).utf8))
        let metadata = try JSONDecoder().decode([String: String].self, from: Data(try row.decode(column: "metadata", as: String.self).utf8))
        let code: String = try row.decode(column: "currency")
        return CheckoutSession(
            id: .init(rawValue: try row.decode(column: "id")), merchant: .init(rawValue: try row.decode(column: "merchant_id")),
            livemode: try row.decode(column: "livemode", as: Int.self) != 0, paymentIntent: .init(rawValue: try row.decode(column: "payment_intent_id")),
            storedStatus: try row.decode(column: "status"), amountTotal: try row.decode(column: "amount_total"), currency: Currency(code: code) ?? .jpy,
            lineItems: items, successURL: try row.decode(column: "success_url"), cancelURL: try row.decode(column: "cancel_url", as: String?.self),
            locale: try row.decode(column: "locale", as: String?.self), clientReferenceID: try row.decode(column: "client_reference_id", as: String?.self),
            customerEmail: try row.decode(column: "customer_email", as: String?.self), metadata: metadata, created: try row.decode(column: "created_at"),
            expiresAt: try row.decode(column: "expires_at"), completedAt: try row.decode(column: "completed_at", as: Int64?.self))
    }
}
