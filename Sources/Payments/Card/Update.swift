import Acquiring
public import KessaiCore
import Logging
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CardPayments {
    /// Fields an update may change; `nil` leaves a field as it is.
    public struct IntentUpdate: Sendable {
        public var amount: Int64?
        public var currency: Currency?
        public var captureMethod: PaymentIntent.CaptureMethod?
        public var paymentMethod: PaymentMethodID?
        public var paymentMethodTypes: [String]?
        public var description: String?
        public var metadata: [String: String?]?
        public var receiptEmail: String?
        /// An empty suffix clears it.
        public var statementDescriptorSuffix: String?

        public init() {}
    }

    public func update(_ id: PaymentIntentID, merchant: MerchantID, _ update: IntentUpdate) async throws -> PaymentIntent {
        let now = clock.now()
        return try await database.transaction { db in
            var intent = try await Self.locked(id, merchant: merchant, on: db)
            let changesPayment = update.amount != nil || update.currency != nil || update.paymentMethod != nil || update.captureMethod != nil
            if changesPayment, ![.requiresPaymentMethod, .requiresConfirmation, .requiresAction].contains(intent.status) {
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state",
                    "You cannot update the amount, currency, capture method or payment method of this PaymentIntent because it has a status of \(intent.status.rawValue)."
                )
            }
            if intent.status == .canceled {
                throw PaymentsError.unexpectedState(
                    "payment_intent_unexpected_state", "You cannot update this PaymentIntent because it has a status of canceled.")
            }
            if let amount = update.amount { intent.amount = amount }
            if let currency = update.currency { intent.currency = currency }
            if intent.amount > intent.currency.maximumAmount {
                throw PaymentsError.invalid(
                    "amount", "Amount must be no more than \(intent.currency.maximumAmount) \(intent.currency.code).", code: "amount_too_large")
            }
            if let captureMethod = update.captureMethod { intent.captureMethod = captureMethod }
            if let types = update.paymentMethodTypes { intent.paymentMethodTypes = types }
            if let description = update.description { intent.description = description.isEmpty ? nil : description }
            if let email = update.receiptEmail { intent.receiptEmail = email.isEmpty ? nil : email }
            if let suffix = update.statementDescriptorSuffix { intent.statementDescriptorSuffix = suffix.isEmpty ? nil : suffix }
            if let metadata = update.metadata {
                for (key, value) in metadata { intent.metadata[key] = value }
                guard intent.metadata.count <= 50 else { throw PaymentsError.invalid("metadata", "At most 50 metadata keys are allowed.") }
            }
            if let method = update.paymentMethod {
                _ = try await Self.cardExpiry(method, merchant: merchant, on: db)
                intent.paymentMethod = method
            }
            if changesPayment, [.requiresPaymentMethod, .requiresAction].contains(intent.status), intent.paymentMethod != nil {
                // A changed payment abandons a waiting challenge; the buyer confirms again.
                try intent.move(to: .requiresConfirmation)
                intent.challengeID = nil
            }
            intent.updated = now
            try await Self.save(intent, on: db)
            return intent
        }
    }
}
