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
            throw PaymentsError.invalid("currency", "\(method) payments are in jpy only.", code: "payment_method_currency_mismatch")
        }
        let range = amountRange(method)
        guard range.contains(amount) else {
            throw PaymentsError.invalid(
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
}
