public import KessaiCore

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The outside world of cash and redirect payments, behind the protocols a real store network,
/// bank collection service (Pay-easy) or e-money provider would be connected through.
///
/// A cash network issues the numbers a buyer pays with (`register`), and later *notifies*
/// Kessai that the buyer paid (``CashNotification``); the notification may arrive twice, or
/// after the deadline, and Kessai decides what to do with it. An e-money provider takes the
/// buyer on a redirect and answers approved or refused.
public protocol CashNetwork: Sendable {
    /// `konbini` or `payeasy`.
    var method: String { get }
    /// Issues payment numbers for `amount`, payable until `expiresAt`; `reference` is Kessai's
    /// (the network deduplicates on it).
    func register(reference: String, amount: Money, expiresAt: Date, confirmationNumber: String?) async throws -> CashInstructions
    /// Withdraws the numbers (the intent was canceled or expired): the counter refuses them.
    func withdraw(reference: String) async throws
}

/// A network that can be told a buyer paid: the test network. `kessai simulate pay` and
/// `POST /v1/test_helpers/payment_intents/{id}/pay` use it; a real network only notifies.
public protocol SimulatedCashNetwork: CashNetwork {
    /// The buyer pays: answers the notification the network sends (the same one again when the
    /// buyer already paid), or throws ``NetworkRefusal`` after the deadline or once withdrawn.
    func buyerPays(reference: String) async throws -> CashNotification
}

/// What the buyer takes to the counter or the ATM.
public struct CashInstructions: Sendable, Equatable, Codable {
    /// Konbini: per store (`familymart`, `lawson`, `ministop`, `seicomart`), a confirmation
    /// number and a payment code.
    public var stores: [String: StoreNumbers]
    /// Pay-easy: 収納機関番号, お客様番号, 確認番号.
    public var institutionNumber: String?
    public var customerNumber: String?
    public var confirmationNumber: String?

    public struct StoreNumbers: Sendable, Equatable, Codable {
        public var confirmationNumber: String
        public var paymentCode: String
        public init(confirmationNumber: String, paymentCode: String) {
            self.confirmationNumber = confirmationNumber
            self.paymentCode = paymentCode
        }
    }

    public init(stores: [String: StoreNumbers] = [:], institutionNumber: String? = nil, customerNumber: String? = nil, confirmationNumber: String? = nil) {
        self.stores = stores
        self.institutionNumber = institutionNumber
        self.customerNumber = customerNumber
        self.confirmationNumber = confirmationNumber
    }
}

/// A network's word that a buyer paid: by Kessai's reference, with the amount and the time.
public struct CashNotification: Sendable, Equatable {
    public let id: String
    public let reference: String
    public let amount: Int64
    public let paidAt: Date

    public init(id: String, reference: String, amount: Int64, paidAt: Date) {
        self.id = id
        self.reference = reference
        self.amount = amount
        self.paidAt = paidAt
    }
}

/// A redirect payment with an e-money provider.
public protocol EMoneyProvider: Sendable {
    /// `test`, or a real provider's name.
    var name: String { get }
    /// Opens a payment; answers the provider's session id, which the buyer's redirect carries.
    func start(reference: String, amount: Money) async throws -> String
    /// The provider's answer for a session, once the buyer has approved or refused (nil while
    /// the buyer has not answered).
    func result(session: String) async throws -> EMoneyResult?
}

public enum EMoneyResult: String, Sendable, Equatable {
    case approved
    case refused
}

/// A network refused an operation (numbers withdrawn, past the deadline, unknown reference).
public struct NetworkRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
