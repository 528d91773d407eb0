public import Acquiring
public import KessaiCore
public import Logging
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Konbini, Pay-easy and e-money payments on the same PaymentIntent model, events and webhooks
/// as cards.
///
/// Confirming a konbini or Pay-easy intent registers it with the network, which issues the
/// numbers the buyer pays with; the intent waits in `requires_action` (its `next_action` holds
/// the numbers and the hosted voucher's address) until the network notifies a payment
/// (``apply(_:)``) or the deadline passes (``expireDue(limit:)``, run by every gateway process,
/// each intent claimed once). E-money redirects the buyer to the provider and back.
///
/// Every transition is a guarded update in one transaction with its event: a second process,
/// a duplicate notification or a late one cannot move an intent twice.
public struct CashPayments: Sendable {
    let database: KessaiDatabase
    let networks: [String: any CashNetwork]
    let providers: [String: any EMoneyProvider]
    let clock: any KessaiClock
    let logger: Logger
    let events: any PaymentEventSink
    /// Where buyers reach Kessai's voucher and instruction pages.
    let publicURL: String

    public init(
        database: KessaiDatabase, networks: [any CashNetwork], providers: [any EMoneyProvider], clock: any KessaiClock, logger: Logger,
        events: any PaymentEventSink, publicURL: String
    ) {
        self.database = database
        self.networks = Dictionary(uniqueKeysWithValues: networks.map { ($0.method, $0) })
        self.providers = Dictionary(uniqueKeysWithValues: providers.map { ($0.name, $0) })
        self.clock = clock
        self.logger = logger
        self.events = events
        self.publicURL = publicURL
    }

    public static let methods: Set<String> = ["konbini", "payeasy", "emoney"]

    /// The amounts each method takes, in yen (konbini as Stripe's; Pay-easy's ATM limit).
    public static func amountRange(_ method: String) -> ClosedRange<Int64> {
        switch method {
        case "konbini": 120...300_000
        case "payeasy": 1...999_999
        default: 1...300_000
        }
    }

    /// What the merchant said about the payment method (`payment_method_data`, `payment_method_options`).
    public struct Details: Sendable, Codable, Equatable {
        public var billing = BillingDetails()
        public var expiresAfterDays: Int?
        public var expiresAt: Int64?
        public var confirmationNumber: String?
        public var productDescription: String?
        public var provider: String?

        public init() {}

        /// Later values win (confirm's over create's).
        func merged(with later: Details?) -> Details {
            guard let later else { return self }
            var out = self
            if later.billing != BillingDetails() { out.billing = later.billing }
            out.expiresAfterDays = later.expiresAfterDays ?? expiresAfterDays
            out.expiresAt = later.expiresAt ?? expiresAt
            out.confirmationNumber = later.confirmationNumber ?? confirmationNumber
            out.productDescription = later.productDescription ?? productDescription
            out.provider = later.provider ?? provider
            return out
        }
    }

    // MARK: Creating and confirming

    public func create(_ new: CardPayments.NewIntent, method: String, details: Details?, merchant: MerchantID, livemode: Bool) async throws -> PaymentIntent {
        try Self.checkAmount(new.amount, currency: new.currency, method: method)
        let now = clock.now()
        let id = PaymentIntentID.random()
        let intent = PaymentIntent(
            id: id, merchant: merchant, livemode: livemode, amount: new.amount, currency: new.currency,
            status: details == nil ? .requiresPaymentMethod : .requiresConfirmation, captureMethod: .automatic, paymentMethod: nil,
            paymentMethodTypes: [method], description: new.description, metadata: new.metadata, receiptEmail: new.receiptEmail,
            clientSecret: id.rawValue + "_secret_" + Base62.random(count: 24), amountCapturable: 0, amountReceived: 0, amountRefunded: 0,
            latestCharge: nil, lastPaymentError: nil, cancellationReason: nil, canceledAt: nil, returnURL: new.returnURL, challengeID: nil,
            authentication: nil, attemptID: nil, confirmedByKey: nil, created: now, updated: now)
        try await database.transaction { db in
            try await db.insert(into: "payment_intents").model(PaymentIntentRow(intent), nilEncodingStrategy: .asNil).run()
            try await db.insert(into: "cash_payments")
                .columns("payment_intent_id", "merchant_id", "method", "payment_method_id", "state", "billing", "options", "created_at", "updated_at")
                .values(
                    SQLBind(id.rawValue), SQLBind(merchant.rawValue), SQLBind(method), SQLBind(PaymentMethodID.random().rawValue), SQLBind("new"),
                    SQLBind(try RowJSON.encode(details?.billing ?? BillingDetails())), SQLBind(try RowJSON.encode(details ?? Details())),
                    SQLBind(now.unixSeconds), SQLBind(now.unixSeconds)
                ).run()
            try await events.record(.paymentIntentCreated, intent: intent, on: db)
        }
        return intent
    }

    static func checkAmount(_ amount: Int64, currency: Currency, method: String) throws {
        guard currency == .jpy else {
            throw APIError.invalid("currency", "\(method) payments are in jpy only.", code: "payment_method_currency_mismatch")
        }
        let range = amountRange(method)
        guard range.contains(amount) else {
            throw APIError.invalid(
                "amount", "\(method) payments must be between ¥\(range.lowerBound) and ¥\(range.upperBound).",
                code: amount < range.lowerBound ? "amount_too_small" : "amount_too_large")
        }
    }

    /// The deadline: 23:59:59 JST on the day `days` after today (JST), as Stripe computes konbini's.
    public static func deadline(afterDays days: Int, from now: Date) -> Int64 {
        let jst: Int64 = 9 * 3600
        let today = (now.unixSeconds + jst) / 86_400
        return (today + Int64(days) + 1) * 86_400 - 1 - jst
    }

    /// The row a cash intent keeps beside it.
    public struct Record: Sendable {
        public let intent: PaymentIntentID
        public let merchant: MerchantID
        public let method: String
        public let paymentMethod: String
        public let state: String
        public let details: Details
        public let expiresAt: Int64?
        public let pageToken: String?
        public let providerSession: String?
        public let testBehavior: String?
        public let paidAt: Int64?
    }

    static func record(_ row: any SQLRow) throws -> Record {
        Record(
            intent: .init(rawValue: try row.decode(column: "payment_intent_id")), merchant: .init(rawValue: try row.decode(column: "merchant_id")),
            method: try row.decode(column: "method"), paymentMethod: try row.decode(column: "payment_method_id"), state: try row.decode(column: "state"),
            details: try RowJSON.decode(Details.self, try row.decode(column: "options", as: String.self)),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self), pageToken: try row.decode(column: "page_token", as: String?.self),
            providerSession: try row.decode(column: "provider_session", as: String?.self),
            testBehavior: try row.decode(column: "test_behavior", as: String?.self), paidAt: try row.decode(column: "paid_at", as: Int64?.self))
    }

    public func record(of intent: PaymentIntentID) async throws -> Record? {
        try await database.withConnection { db in
            try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, intent.rawValue).first().map(Self.record)
        }
    }

    /// The record behind a voucher, instructions or provider page (its token is the credential).
    public func record(pageToken: String) async throws -> (Record, PaymentIntent)? {
        try await database.withConnection { db in
            guard let row = try await db.select().column("*").from("cash_payments").where("page_token", .equal, pageToken).first() else { return nil }
            let record = try Self.record(row)
            guard
                let intent = try await db.select().column("*").from("payment_intents").where("id", .equal, record.intent.rawValue)
                    .first(decoding: PaymentIntentRow.self)?.domain()
            else { return nil }
            return (record, intent)
        }
    }

    /// Confirms: validates what the method needs, registers with the network (or opens the
    /// provider's session), and moves the intent to `requires_action` with its `next_action`.
    public func confirm(_ id: PaymentIntentID, merchant: MerchantID, details later: Details?, returnURL: String?) async throws -> PaymentIntent {
        let now = clock.now()
        guard let existing = try await record(of: id), existing.merchant == merchant else {
            throw APIError.notFound("payment_intent", id: id.rawValue, param: "intent")
        }
        let details = existing.details.merged(with: later)
        let method = existing.method
        guard
            let intentNow = try await database.withConnection({ db in
                try await db.select().column("*").from("payment_intents").where("id", .equal, id.rawValue).first(decoding: PaymentIntentRow.self)?.domain()
            })
        else { throw APIError.notFound("payment_intent", id: id.rawValue, param: "intent") }
        if intentNow.status == .requiresAction { return intentNow }
        guard [.requiresPaymentMethod, .requiresConfirmation].contains(intentNow.status) else {
            throw APIError.unexpectedState(
                "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it has a status of \(intentNow.status.rawValue).", param: nil)
        }
        try Self.validate(details, method: method)
        // The deadline, and what the Stripe test addresses ask for.
        var expiresAt: Int64? = nil
        if method != "emoney" {
            if let at = details.expiresAt {
                guard at > now.unixSeconds, at <= now.unixSeconds + 60 * 86_400 else {
                    throw APIError.invalid(
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
        var nextAction: JSONValue
        var providerSession: String? = nil
        if method == "emoney" {
            guard let returnURL = returnURL ?? intentNow.returnURL else {
                throw APIError.missing("return_url")
            }
            guard let provider = providers[details.provider ?? "test"] else {
                throw APIError.invalid(
                    "payment_method_options[emoney][provider]", "Unknown e-money provider; Kessai offers: \(providers.keys.sorted().joined(separator: ", ")).")
            }
            providerSession = try await provider.start(reference: id.rawValue, amount: Money(minorUnits: intentNow.amount, currency: intentNow.currency))
            nextAction = .object([
                ("redirect_to_url", .object([("return_url", .string(returnURL)), ("url", .string("\(publicURL)/emoney/\(provider.name)/\(token)"))])),
                ("type", "redirect_to_url"),
            ])
        } else {
            guard let network = networks[method], let expiresAt else { throw APIError.invalid("payment_method_types", "\(method) is not available.") }
            let instructions = try await network.register(
                reference: id.rawValue, amount: Money(minorUnits: intentNow.amount, currency: intentNow.currency),
                expiresAt: Date(unixSeconds: expiresAt), confirmationNumber: details.confirmationNumber)
            nextAction = Self.displayDetails(method: method, instructions: instructions, expiresAt: expiresAt, url: "\(publicURL)/vouchers/\(token)")
        }
        let action = nextAction.serialized()
        let deadline = expiresAt ?? (now.unixSeconds + 3600)
        let session = providerSession
        let testBehavior = behavior
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(id, merchant: merchant, on: db)
            if intent.status == .requiresAction { return intent }
            guard [.requiresPaymentMethod, .requiresConfirmation].contains(intent.status) else {
                throw APIError.unexpectedState(
                    "payment_intent_unexpected_state", "You cannot confirm this PaymentIntent because it has a status of \(intent.status.rawValue).",
                    param: nil)
            }
            intent.status = .requiresAction
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
            return intent
        }
    }

    static func validate(_ details: Details, method: String) throws {
        let prefix = "payment_method_data[billing_details]"
        switch method {
        case "konbini":
            guard details.billing.name?.isEmpty == false else { throw APIError.missing("\(prefix)[name]") }
            guard details.billing.email?.isEmpty == false else { throw APIError.missing("\(prefix)[email]") }
        case "payeasy":
            guard details.billing.name?.isEmpty == false else { throw APIError.missing("\(prefix)[name]") }
            guard details.billing.phone?.isEmpty == false else { throw APIError.missing("\(prefix)[phone]") }
        default:
            break
        }
    }

    /// `next_action` for konbini (Stripe's `konbini_display_details`) and Pay-easy (Kessai's
    /// `payeasy_display_details`).
    static func displayDetails(method: String, instructions: CashInstructions, expiresAt: Int64, url: String) -> JSONValue {
        if method == "konbini" {
            let stores = ["familymart", "lawson", "ministop", "seicomart"].map { store -> (String, JSONValue) in
                let numbers = instructions.stores[store]
                return (
                    store,
                    .object([
                        ("confirmation_number", .optional(numbers?.confirmationNumber)), ("payment_code", .optional(numbers?.paymentCode)),
                    ])
                )
            }
            return .object([
                ("konbini_display_details", .object([("expires_at", .int(expiresAt)), ("hosted_voucher_url", .string(url)), ("stores", .object(stores))])),
                ("type", "konbini_display_details"),
            ])
        }
        return .object([
            (
                "payeasy_display_details",
                .object([
                    ("confirmation_number", .optional(instructions.confirmationNumber)), ("customer_number", .optional(instructions.customerNumber)),
                    ("expires_at", .int(expiresAt)), ("hosted_instructions_url", .string(url)),
                    ("institution_number", .optional(instructions.institutionNumber)),
                ])
            ),
            ("type", "payeasy_display_details"),
        ])
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

    // MARK: Payment, expiry

    /// Test mode's "the buyer paid": the network records it and notifies; the notification is applied.
    public func simulatePayment(_ id: PaymentIntentID, merchant: MerchantID?) async throws -> PaymentIntent {
        guard let record = try await record(of: id), merchant == nil || record.merchant == merchant else {
            throw APIError.notFound("payment_intent", id: id.rawValue, param: "intent")
        }
        guard let network = networks[record.method] as? any SimulatedCashNetwork else {
            throw APIError.unexpectedState(
                "payment_intent_unexpected_state", "Only konbini and Pay-easy payments are paid this way; e-money is paid on the provider's page.")
        }
        guard record.state != "new" else {
            throw APIError.unexpectedState("payment_intent_unexpected_state", "Confirm the PaymentIntent first: it has no payment numbers yet.")
        }
        let notification: CashNotification
        do {
            notification = try await network.buyerPays(reference: id.rawValue)
        } catch let refusal as NetworkRefusal {
            logger.info("network refused a payment", metadata: ["payment_intent": "\(id)", "code": "\(refusal.code)"])
            throw APIError.unexpectedState("payment_intent_payment_attempt_expired", "The \(record.method) network refused the payment: \(refusal.message)")
        }
        return try await apply(notification, intent: id)
    }

    /// Applies a network's notification once: a duplicate is recorded and ignored; a payment
    /// after the deadline, or for an intent no longer waiting, is recorded and refused.
    @discardableResult
    public func apply(_ notification: CashNotification, intent id: PaymentIntentID) async throws -> PaymentIntent {
        let now = clock.now()
        enum Result { case applied(PaymentIntent), duplicate(PaymentIntent), refused(String, String) }
        let result: Result = try await database.transaction { db in
            guard let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, id.rawValue).for(.update).first()
            else { throw APIError.notFound("payment_intent", id: id.rawValue, param: "intent") }
            let record = try Self.record(row)
            var intent = try await CardPayments.locked(id, merchant: record.merchant, on: db)
            func note(_ outcome: String) async throws {
                try await db.insert(into: "cash_notifications").columns("id", "payment_intent_id", "outcome", "amount", "paid_at", "received_at")
                    .values(
                        SQLBind(notification.id), SQLBind(id.rawValue), SQLBind(outcome), SQLBind(notification.amount),
                        SQLBind(notification.paidAt.unixSeconds), SQLBind(now.unixSeconds)
                    ).run()
            }
            if record.state == "paid" {
                try await note("duplicate")
                return .duplicate(intent)
            }
            if let deadline = record.expiresAt, notification.paidAt.unixSeconds > deadline {
                try await note("late")
                return .refused("late", "The payment was made after the deadline.")
            }
            guard record.state == "awaiting", intent.status == .requiresAction else {
                try await note("not_awaiting")
                return .refused("not_awaiting", "The PaymentIntent is \(intent.status.rawValue); it no longer accepts a payment.")
            }
            guard notification.amount == intent.amount else {
                try await note("not_awaiting")
                return .refused("amount_mismatch", "The notified amount differs from the PaymentIntent's.")
            }
            let charge = Charge(
                id: ChargeID.random(), merchant: record.merchant, paymentIntent: id, amount: intent.amount, amountCaptured: intent.amount,
                amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: true,
                paymentMethod: PaymentMethodID(rawValue: record.paymentMethod),
                acquirer: record.method, acquirerReference: notification.id, cvcCheck: nil, authentication: nil, failureCode: nil, declineCode: nil,
                failureMessage: nil, created: now)
            try await db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).run()
            intent.status = .succeeded
            intent.amountReceived = intent.amount
            intent.latestCharge = charge.id
            intent.nextAction = nil
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await db.update("cash_payments").set("state", to: "paid").set("notification_id", to: notification.id)
                .set("paid_at", to: notification.paidAt.unixSeconds).set("updated_at", to: now.unixSeconds).where("payment_intent_id", .equal, id.rawValue)
                .run()
            try await note("applied")
            try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
            return .applied(intent)
        }
        switch result {
        case .applied(let intent):
            logger.info("cash payment received", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)"])
            return intent
        case .duplicate(let intent):
            logger.warning("duplicate payment notification ignored", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)"])
            return intent
        case .refused(let code, let message):
            logger.warning("payment notification refused", metadata: ["payment_intent": "\(id)", "notification": "\(notification.id)", "reason": "\(code)"])
            throw APIError.unexpectedState("payment_intent_payment_attempt_expired", message)
        }
    }

    /// Moves one awaiting intent to `canceled` (`cancellation_reason=expired`) once; false when
    /// it was not awaiting (paid, canceled, or another process got there first).
    @discardableResult
    public func expire(_ id: PaymentIntentID, force: Bool = false) async throws -> Bool {
        let now = clock.now()
        let expired: (Bool, String?) = try await database.transaction { db in
            guard
                let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, id.rawValue)
                    .where("state", .equal, "awaiting").for(.update).first()
            else { return (false, nil) }
            let record = try Self.record(row)
            if !force, let deadline = record.expiresAt, deadline >= now.unixSeconds, record.testBehavior != "expire" { return (false, nil) }
            var intent = try await CardPayments.locked(id, merchant: record.merchant, on: db)
            try await db.update("cash_payments").set("state", to: "expired").set("updated_at", to: now.unixSeconds)
                .where("payment_intent_id", .equal, id.rawValue).where("state", .equal, "awaiting").run()
            guard intent.status == .requiresAction else { return (false, nil) }
            intent.status = .canceled
            intent.cancellationReason = .expired
            intent.canceledAt = now
            intent.nextAction = nil
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await events.record(.paymentIntentCanceled, intent: intent, on: db)
            return (true, record.method)
        }
        if expired.0, let method = expired.1 {
            try? await networks[method]?.withdraw(reference: id.rawValue)
            logger.info("cash payment expired", metadata: ["payment_intent": "\(id)"])
        }
        return expired.0
    }

    /// The scheduled job: expires what is past its deadline and, in test mode, plays the Stripe
    /// test addresses (`succeed_immediately`, `expire_immediately`). Rows are claimed with
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several processes share the work and each
    /// intent is handled once (the guarded transitions make it once even without the claim).
    public func runDue(limit: Int = 100) async throws -> Int {
        let now = clock.now().unixSeconds
        let due: [(PaymentIntentID, String?)] = try await database.transaction { db in
            let rows: [any SQLRow]
            if database.kind == .postgres {
                rows = try await db.raw(
                    """
                    SELECT payment_intent_id, test_behavior FROM cash_payments
                    WHERE state = 'awaiting' AND (expires_at < \(bind: now) OR test_behavior IN ('succeed', 'expire'))
                    ORDER BY expires_at LIMIT \(bind: limit) FOR UPDATE SKIP LOCKED
                    """
                ).all()
            } else {
                rows = try await db.select().columns("payment_intent_id", "test_behavior").from("cash_payments").where("state", .equal, "awaiting")
                    .where(group: { $0.where("expires_at", .lessThan, now).orWhere("test_behavior", .in, ["succeed", "expire"]) })
                    .orderBy("expires_at").limit(limit).all()
            }
            return try rows.map {
                (PaymentIntentID(rawValue: try $0.decode(column: "payment_intent_id")), try $0.decode(column: "test_behavior", as: String?.self))
            }
        }
        var handled = 0
        for (id, behavior) in due {
            do {
                if behavior == "succeed" {
                    _ = try await simulatePayment(id, merchant: nil)
                    handled += 1
                } else if try await expire(id) {
                    handled += 1
                }
            } catch {
                logger.error("cash payment job failed", metadata: ["payment_intent": "\(id)", "error": "\(error)"])
            }
        }
        return handled
    }

    // MARK: E-money

    /// The buyer came back from the provider: apply its answer once.
    public func completeEMoney(pageToken: String) async throws -> PaymentIntent? {
        guard let (record, _) = try await record(pageToken: pageToken), record.method == "emoney", let session = record.providerSession,
            let provider = providers[record.details.provider ?? "test"], let answer = try await provider.result(session: session)
        else { return nil }
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(record.intent, merchant: record.merchant, on: db)
            guard
                intent.status == .requiresAction,
                try await db.select().column("state").from("cash_payments").where("payment_intent_id", .equal, record.intent.rawValue).for(.update)
                    .first()?.decode(column: "state", as: String.self) == "awaiting"
            else { return intent }
            intent.nextAction = nil
            intent.updated = now
            if answer == .approved {
                let charge = Charge(
                    id: ChargeID.random(), merchant: record.merchant, paymentIntent: intent.id, amount: intent.amount, amountCaptured: intent.amount,
                    amountRefunded: 0, currency: intent.currency, status: "succeeded", captured: true,
                    paymentMethod: PaymentMethodID(rawValue: record.paymentMethod), acquirer: "emoney:\(provider.name)", acquirerReference: session,
                    cvcCheck: nil, authentication: nil, failureCode: nil, declineCode: nil, failureMessage: nil, created: now)
                try await db.insert(into: "charges").model(ChargeRow(charge), nilEncodingStrategy: .asNil).run()
                intent.status = .succeeded
                intent.amountReceived = intent.amount
                intent.latestCharge = charge.id
                try await db.update("cash_payments").set("state", to: "paid").set("paid_at", to: now.unixSeconds).set("updated_at", to: now.unixSeconds)
                    .where("payment_intent_id", .equal, record.intent.rawValue).run()
                try await CardPayments.save(intent, on: db)
                try await events.record(.paymentIntentSucceeded, intent: intent, on: db)
            } else {
                intent.status = .requiresPaymentMethod
                intent.paymentMethod = nil
                intent.lastPaymentError = PaymentError(
                    type: "invalid_request_error", code: "payment_method_provider_decline",
                    declineCode: nil, message: "The buyer refused the payment at the e-money provider.", paymentMethod: record.paymentMethod)
                try await db.update("cash_payments").set("state", to: "new").set("page_token", to: SQLLiteral.null).set("updated_at", to: now.unixSeconds)
                    .where("payment_intent_id", .equal, record.intent.rawValue).run()
                try await CardPayments.save(intent, on: db)
                try await events.record(.paymentIntentPaymentFailed, intent: intent, on: db)
            }
            return intent
        }
    }

    // MARK: Refunds of cash payments

    /// A refund of a konbini or Pay-easy payment, as Stripe does it: there is no card to send
    /// the money back to, so the refund waits (`requires_action`) while the buyer is asked for
    /// bank details (a message in `outbox_messages`, for a mail sender to drain), until an
    /// operator records the payout (``recordPayout(_:)``).
    public func refund(_ new: CardPayments.NewRefund, merchant: MerchantID) async throws -> Refund {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await CardPayments.locked(new.paymentIntent, merchant: merchant, on: db)
            guard intent.status == .succeeded, let chargeID = intent.latestCharge else {
                throw APIError.unexpectedState(
                    "charge_not_refundable",
                    "This PaymentIntent (\(intent.id)) does not have a successful payment to refund; it has a status of \(intent.status.rawValue).",
                    param: "payment_intent")
            }
            let amount = try CardPayments.refundAmount(new.amount, of: intent, charge: chargeID)
            guard
                let row = try await db.select().column("*").from("cash_payments").where("payment_intent_id", .equal, intent.id.rawValue).first()
            else { throw APIError.notFound("payment_intent", id: intent.id.rawValue, param: "payment_intent") }
            let record = try Self.record(row)
            if record.method == "emoney" {
                // The provider returns e-money to the buyer's wallet at once.
                let refund = Refund(
                    id: RefundID.random(), merchant: merchant, paymentIntent: intent.id, charge: chargeID, amount: amount, currency: intent.currency,
                    status: .succeeded, reason: new.reason, metadata: new.metadata, failureReason: nil, created: now)
                try await db.insert(into: "refunds").model(try RefundRow(refund), nilEncodingStrategy: .asNil).run()
                try await db.update("charges").set("amount_refunded", to: SQLBinaryExpression(SQLColumn("amount_refunded"), .add, SQLBind(amount)))
                    .where("id", .equal, chargeID.rawValue).run()
                intent.amountRefunded += amount
                intent.updated = now
                try await CardPayments.save(intent, on: db)
                try await events.record(.refundCreated, refund: refund, livemode: intent.livemode, on: db)
                try await events.record(.chargeRefunded, intent: intent, on: db)
                return refund
            }
            let recipient = record.details.billing.email ?? intent.receiptEmail
            let messageID = "msg_" + Base62.random(count: 20)
            let expiresAt = now.unixSeconds + 45 * 86_400
            var refund = Refund(
                id: RefundID.random(), merchant: merchant, paymentIntent: intent.id, charge: chargeID, amount: amount, currency: intent.currency,
                status: .requiresAction, reason: new.reason, metadata: new.metadata, failureReason: nil, created: now)
            refund.nextAction =
                JSONValue.object([
                    (
                        "display_details",
                        .object([
                            ("email_sent", .object([("email_sent_at", .int(now.unixSeconds)), ("email_sent_to", .optional(recipient))])),
                            ("expires_at", .int(expiresAt)),
                        ])
                    ),
                    ("type", "display_details"),
                ]).serialized()
            try await db.insert(into: "refunds").model(try RefundRow(refund), nilEncodingStrategy: .asNil).run()
            if let recipient {
                let name = record.details.billing.name ?? "お客様"
                let body = """
                    \(name) 様

                    お支払い (\(intent.id.rawValue)) のうち ¥\(amount) を返金いたします。
                    コンビニ・Pay-easy でのお支払いはカードに戻せないため、返金先の銀行口座
                    (銀行名・支店名・口座種別・口座番号・口座名義) をお知らせください。
                    期限: \(Self.jstDate(expiresAt)) まで。返金番号: \(refund.id.rawValue)

                    We are refunding ¥\(amount) of your payment \(intent.id.rawValue). Cash payments cannot be
                    returned to a card: please send the bank account to pay the refund into
                    (bank, branch, account type, number, holder's name) by \(Self.jstDate(expiresAt)).
                    Refund reference: \(refund.id.rawValue)
                    """
                try await db.insert(into: "outbox_messages")
                    .columns("id", "merchant_id", "recipient", "subject", "body", "related_object", "created_at")
                    .values(
                        SQLBind(messageID), SQLBind(merchant.rawValue), SQLBind(recipient), SQLBind("返金口座のご案内 / Your refund: bank details needed"),
                        SQLBind(body), SQLBind(refund.id.rawValue), SQLBind(now.unixSeconds)
                    ).run()
            }
            intent.amountRefunded += amount
            intent.updated = now
            try await CardPayments.save(intent, on: db)
            try await events.record(.refundCreated, refund: refund, livemode: intent.livemode, on: db)
            return refund
        }
    }

    /// The operator paid the refund out to the buyer's account: the refund succeeds.
    public func recordPayout(_ id: RefundID) async throws -> Refund {
        let now = clock.now()
        return try await database.transaction { db in
            guard
                var refund = try await db.select().column("*").from("refunds").where("id", .equal, id.rawValue).for(.update)
                    .first(decoding: RefundRow.self)?.domain()
            else { throw APIError.notFound("refund", id: id.rawValue) }
            guard refund.status == .requiresAction else {
                throw APIError.unexpectedState(
                    "refund_unexpected_state", "Refund \(id) is \(refund.status.rawValue); only a refund waiting for its payout can be paid out.")
            }
            refund.status = .succeeded
            refund.nextAction = nil
            try await db.update("refunds").set("status", to: refund.status.rawValue).set("next_action", to: SQLLiteral.null)
                .where("id", .equal, id.rawValue).run()
            try await db.update("charges").set("amount_refunded", to: SQLBinaryExpression(SQLColumn("amount_refunded"), .add, SQLBind(refund.amount)))
                .where("id", .equal, refund.charge.rawValue).run()
            let intent = try await CardPayments.locked(refund.paymentIntent, merchant: refund.merchant, on: db)
            try await events.record(.chargeRefunded, intent: intent, on: db)
            _ = now
            return refund
        }
    }

    static func jstDate(_ unix: Int64) -> String {
        let day = (unix + 9 * 3600) / 86_400
        let (y, m, d) = civil(fromDays: day)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))"
    }

    /// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
