import Acquiring
import KessaiCore
import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `payment_intents` row, mapped to and from the domain type explicitly.
struct PaymentIntentRow: Codable, Sendable {
    var id: String
    var merchantID: String
    var livemode: Int
    var amount: Int64
    var currency: String
    var status: String
    var captureMethod: String
    var paymentMethod: String?
    var paymentMethodTypes: String
    var description: String?
    var metadata: String
    var receiptEmail: String?
    var clientSecret: String
    var amountCapturable: Int64
    var amountReceived: Int64
    var amountRefunded: Int64
    var latestCharge: String?
    var lastPaymentError: String?
    var cancellationReason: String?
    var canceledAt: Int64?
    var returnURL: String?
    var challengeID: String?
    var authentication: String?
    var attemptID: String?
    var confirmedByKey: String?
    var createdAt: Int64
    var updatedAt: Int64
    var nextAction: String?
    var statementDescriptorSuffix: String?
    var watch: String?

    enum CodingKeys: String, CodingKey {
        case id, livemode, amount, currency, status, description, metadata, authentication, watch
        case merchantID = "merchant_id"
        case captureMethod = "capture_method"
        case paymentMethod = "payment_method"
        case paymentMethodTypes = "payment_method_types"
        case receiptEmail = "receipt_email"
        case clientSecret = "client_secret"
        case amountCapturable = "amount_capturable"
        case amountReceived = "amount_received"
        case amountRefunded = "amount_refunded"
        case latestCharge = "latest_charge"
        case lastPaymentError = "last_payment_error"
        case cancellationReason = "cancellation_reason"
        case canceledAt = "canceled_at"
        case returnURL = "return_url"
        case challengeID = "challenge_id"
        case attemptID = "attempt_id"
        case confirmedByKey = "confirmed_by_key"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case nextAction = "next_action"
        case statementDescriptorSuffix = "statement_descriptor_suffix"
    }

    init(_ intent: PaymentIntent) throws {
        id = intent.id.rawValue
        merchantID = intent.merchant.rawValue
        livemode = intent.livemode ? 1 : 0
        amount = intent.amount
        currency = intent.currency.code
        status = intent.status.rawValue
        captureMethod = intent.captureMethod.rawValue
        paymentMethod = intent.paymentMethod?.rawValue
        paymentMethodTypes = intent.paymentMethodTypes.joined(separator: ",")
        description = intent.description
        metadata = try RowJSON.encode(intent.metadata)
        receiptEmail = intent.receiptEmail
        clientSecret = intent.clientSecret
        amountCapturable = intent.amountCapturable
        amountReceived = intent.amountReceived
        amountRefunded = intent.amountRefunded
        latestCharge = intent.latestCharge?.rawValue
        lastPaymentError = try intent.lastPaymentError.map(RowJSON.encode)
        cancellationReason = intent.cancellationReason?.rawValue
        canceledAt = intent.canceledAt?.unixSeconds
        returnURL = intent.returnURL
        challengeID = intent.challengeID
        authentication = intent.authentication?.rawValue
        attemptID = intent.attemptID?.rawValue
        confirmedByKey = intent.confirmedByKey
        createdAt = intent.created.unixSeconds
        updatedAt = intent.updated.unixSeconds
        nextAction = try intent.nextAction?.stored()
        statementDescriptorSuffix = intent.statementDescriptorSuffix
        watch = try intent.watch.map(RowJSON.encode)
    }

    func domain() throws -> PaymentIntent {
        guard let currency = Currency(code: currency), let status = PaymentIntent.Status(rawValue: status),
            let captureMethod = PaymentIntent.CaptureMethod(rawValue: captureMethod)
        else { throw RowJSON.Corrupt(table: "payment_intents", id: id) }
        return PaymentIntent(
            id: PaymentIntentID(rawValue: id), merchant: MerchantID(rawValue: merchantID), livemode: livemode != 0, amount: amount, currency: currency,
            status: status, captureMethod: captureMethod, paymentMethod: paymentMethod.map(PaymentMethodID.init(rawValue:)),
            paymentMethodTypes: paymentMethodTypes.split(separator: ",").map(String.init), description: description,
            metadata: try RowJSON.decode([String: String].self, metadata), receiptEmail: receiptEmail, clientSecret: clientSecret,
            amountCapturable: amountCapturable, amountReceived: amountReceived, amountRefunded: amountRefunded,
            latestCharge: latestCharge.map(ChargeID.init(rawValue:)), lastPaymentError: try lastPaymentError.map { try RowJSON.decode(PaymentError.self, $0) },
            cancellationReason: cancellationReason.flatMap(PaymentIntent.CancellationReason.init(rawValue:)),
            canceledAt: canceledAt.map(Date.init(unixSeconds:)),
            returnURL: returnURL, challengeID: challengeID, authentication: authentication.flatMap(AuthenticationResult.init(rawValue:)),
            attemptID: attemptID.map(AttemptID.init(rawValue:)), confirmedByKey: confirmedByKey, created: Date(unixSeconds: createdAt),
            updated: Date(unixSeconds: updatedAt), nextAction: try nextAction.map { try NextAction.read($0, row: id) },
            statementDescriptorSuffix: statementDescriptorSuffix, watch: try watch.map { try RowJSON.decode(CardWatch.self, $0) })
    }
}

struct ChargeRow: Codable, Sendable {
    var id: String
    var merchantID: String
    var paymentIntentID: String
    var amount: Int64
    var amountCaptured: Int64
    var amountRefunded: Int64
    var currency: String
    var status: String
    var captured: Int
    var paymentMethod: String
    var acquirer: String
    var acquirerReference: String?
    var cvcCheck: String?
    var authentication: String?
    var failureCode: String?
    var declineCode: String?
    var failureMessage: String?
    var createdAt: Int64
    var watch: String?

    enum CodingKeys: String, CodingKey {
        case id, amount, currency, status, captured, acquirer, authentication, watch
        case merchantID = "merchant_id"
        case paymentIntentID = "payment_intent_id"
        case amountCaptured = "amount_captured"
        case amountRefunded = "amount_refunded"
        case paymentMethod = "payment_method"
        case acquirerReference = "acquirer_reference"
        case cvcCheck = "cvc_check"
        case failureCode = "failure_code"
        case declineCode = "decline_code"
        case failureMessage = "failure_message"
        case createdAt = "created_at"
    }

    init(_ charge: Charge) throws {
        id = charge.id.rawValue
        merchantID = charge.merchant.rawValue
        paymentIntentID = charge.paymentIntent.rawValue
        amount = charge.amount
        amountCaptured = charge.amountCaptured
        amountRefunded = charge.amountRefunded
        currency = charge.currency.code
        status = charge.status
        captured = charge.captured ? 1 : 0
        paymentMethod = charge.paymentMethod.rawValue
        acquirer = charge.acquirer
        acquirerReference = charge.acquirerReference
        cvcCheck = charge.cvcCheck
        authentication = charge.authentication
        failureCode = charge.failureCode
        declineCode = charge.declineCode
        failureMessage = charge.failureMessage
        createdAt = charge.created.unixSeconds
        watch = try charge.watch.map(RowJSON.encode)
    }

    func domain() throws -> Charge {
        guard let currency = Currency(code: currency) else { throw RowJSON.Corrupt(table: "charges", id: id) }
        return Charge(
            id: ChargeID(rawValue: id), merchant: MerchantID(rawValue: merchantID), paymentIntent: PaymentIntentID(rawValue: paymentIntentID), amount: amount,
            amountCaptured: amountCaptured, amountRefunded: amountRefunded, currency: currency, status: status, captured: captured != 0,
            paymentMethod: PaymentMethodID(rawValue: paymentMethod), acquirer: acquirer, acquirerReference: acquirerReference, cvcCheck: cvcCheck,
            authentication: authentication, failureCode: failureCode, declineCode: declineCode, failureMessage: failureMessage,
            created: Date(unixSeconds: createdAt), watch: try watch.map { try RowJSON.decode(CardWatch.self, $0) })
    }
}

struct RefundRow: Codable, Sendable {
    var id: String
    var merchantID: String
    var paymentIntentID: String
    var chargeID: String
    var amount: Int64
    var currency: String
    var status: String
    var reason: String?
    var metadata: String
    var failureReason: String?
    var createdAt: Int64
    var nextAction: String?

    enum CodingKeys: String, CodingKey {
        case id, amount, currency, status, reason, metadata
        case nextAction = "next_action"
        case merchantID = "merchant_id"
        case paymentIntentID = "payment_intent_id"
        case chargeID = "charge_id"
        case failureReason = "failure_reason"
        case createdAt = "created_at"
    }

    init(_ refund: Refund) throws {
        id = refund.id.rawValue
        merchantID = refund.merchant.rawValue
        paymentIntentID = refund.paymentIntent.rawValue
        chargeID = refund.charge.rawValue
        amount = refund.amount
        currency = refund.currency.code
        status = refund.status.rawValue
        reason = refund.reason?.rawValue
        metadata = try RowJSON.encode(refund.metadata)
        failureReason = refund.failureReason
        createdAt = refund.created.unixSeconds
        nextAction = try refund.nextAction?.stored()
    }

    func domain() throws -> Refund {
        guard let currency = Currency(code: currency), let status = Refund.Status(rawValue: status) else { throw RowJSON.Corrupt(table: "refunds", id: id) }
        return Refund(
            id: RefundID(rawValue: id), merchant: MerchantID(rawValue: merchantID), paymentIntent: PaymentIntentID(rawValue: paymentIntentID),
            charge: ChargeID(rawValue: chargeID), amount: amount, currency: currency, status: status, reason: reason.flatMap(Refund.Reason.init(rawValue:)),
            metadata: try RowJSON.decode([String: String].self, metadata), failureReason: failureReason, created: Date(unixSeconds: createdAt),
            nextAction: try nextAction.map(RefundNextAction.read))
    }
}

/// JSON columns (metadata, errors), always with sorted keys.
enum RowJSON {
    struct Corrupt: Error, CustomStringConvertible {
        let table: String
        let id: String
        var description: String { "row \(id) of \(table) has a value Kessai does not know" }
    }

    static func encode(_ value: some Encodable) throws -> String {
        // Most intents carry no metadata: that row value needs no encoder.
        if let dictionary = value as? [String: String], dictionary.isEmpty { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        if text == "{}", let empty = [String: String]() as? T { return empty }
        return try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
