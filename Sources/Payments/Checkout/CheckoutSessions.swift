import KessaiCore
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stores checkout sessions; completes one exactly once, with its event.
public struct CheckoutSessions: Sendable {
    let database: KessaiDatabase
    let payments: CardPayments
    let events: any PaymentEventSink
    let clock: any KessaiClock

    public init(database: KessaiDatabase, payments: CardPayments, events: any PaymentEventSink, clock: any KessaiClock) {
        self.database = database
        self.payments = payments
        self.events = events
        self.clock = clock
    }

    /// What a merchant asks for: the items, where the buyer goes after, and the intent's settings.
    public struct New: Sendable {
        public var lineItems: [CheckoutSession.LineItem]
        public var currency: Currency
        public var successURL: String
        public var cancelURL: String?
        public var locale: String?
        public var clientReferenceID: String?
        public var customerEmail: String?
        public var metadata: [String: String]
        public var expiresAt: Int64
        public var captureMethod: PaymentIntent.CaptureMethod
        public var description: String?
        public var intentMetadata: [String: String]

        public init(
            lineItems: [CheckoutSession.LineItem], currency: Currency, successURL: String, cancelURL: String?, locale: String?, clientReferenceID: String?,
            customerEmail: String?, metadata: [String: String], expiresAt: Int64, captureMethod: PaymentIntent.CaptureMethod, description: String?,
            intentMetadata: [String: String]
        ) {
            self.lineItems = lineItems
            self.currency = currency
            self.successURL = successURL
            self.cancelURL = cancelURL
            self.locale = locale
            self.clientReferenceID = clientReferenceID
            self.customerEmail = customerEmail
            self.metadata = metadata
            self.expiresAt = expiresAt
            self.captureMethod = captureMethod
            self.description = description
            self.intentMetadata = intentMetadata
        }
    }

    public func create(_ new: New, merchant: MerchantID, livemode: Bool) async throws -> CheckoutSession {
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
    public func find(_ id: CheckoutSessionID, merchant: MerchantID? = nil) async throws -> CheckoutSession? {
        try await database.withConnection { db in
            var query = db.select().column("*").from("checkout_sessions").where("id", .equal, id.rawValue)
            if let merchant { query = query.where("merchant_id", .equal, merchant.rawValue) }
            return try await query.first().map(Self.decode)
        }
    }

    public func list(merchant: MerchantID, limit: Int) async throws -> ([CheckoutSession], Bool) {
        try await database.withConnection { db in
            let rows = try await db.select().column("*").from("checkout_sessions").where("merchant_id", .equal, merchant.rawValue)
                .orderBy("created_at", .descending).orderBy("id", .descending).limit(limit + 1).all()
            return (try rows.prefix(limit).map(Self.decode), rows.count > limit)
        }
    }

    /// Marks an open session complete and records `checkout.session.completed`, once.
    @discardableResult
    public func complete(_ session: CheckoutSession) async throws -> Bool {
        let now = clock.now().unixSeconds
        return try await database.transaction { db in
            let changed = try await db.update("checkout_sessions").set("status", to: "complete").set("completed_at", to: now)
                .where("id", .equal, session.id.rawValue).where("status", .equal, "open").returning("id").all()
            guard !changed.isEmpty,
                let completed = try await db.select().column("*").from("checkout_sessions").where("id", .equal, session.id.rawValue)
                    .first().map(Self.decode)
            else { return false }
            try await events.record(.checkoutSessionCompleted, checkoutSession: completed, on: db)
            return true
        }
    }

    /// Expires an open session (and cancels its unpaid intent); false when it was not open.
    public func expire(_ session: CheckoutSession) async throws -> Bool {
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
