import Acquiring

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The `next_action` columns hold these as JSON. The layout is the one rows were written in before
// the types existed (it follows Stripe's), so those rows read back unchanged.

extension NextAction {
    func stored() throws -> String {
        var row = StoredNextAction(type: "")
        switch self {
        case .redirect(let url, let returnURL):
            row.type = "redirect_to_url"
            row.redirectToUrl = .init(url: url, returnUrl: returnURL)
        case .konbini(let expiresAt, let voucherURL, let stores):
            row.type = "konbini_display_details"
            let all = Dictionary(
                uniqueKeysWithValues: NextAction.konbiniStores.map { store in
                    (store, StoredNextAction.Store(confirmationNumber: stores[store]?.confirmationNumber, paymentCode: stores[store]?.paymentCode))
                })
            row.konbiniDisplayDetails = .init(expiresAt: expiresAt, hostedVoucherUrl: voucherURL, stores: all)
        case .payeasy(let expiresAt, let url, let numbers):
            row.type = "payeasy_display_details"
            row.payeasyDisplayDetails = .init(
                expiresAt: expiresAt, hostedInstructionsUrl: url, institutionNumber: numbers.institutionNumber, customerNumber: numbers.customerNumber,
                confirmationNumber: numbers.confirmationNumber)
        }
        return try StoredNextAction.encode(row)
    }

    /// - Throws: ``RowJSON/Corrupt`` for a stored value of a kind Kessai does not know.
    static func read(_ text: String, row id: String) throws -> NextAction {
        let row = try StoredNextAction.decoder.decode(StoredNextAction.self, from: Data(text.utf8))
        switch row.type {
        case "redirect_to_url":
            if let redirect = row.redirectToUrl { return .redirect(url: redirect.url, returnURL: redirect.returnUrl) }
        case "konbini_display_details":
            if let details = row.konbiniDisplayDetails {
                let stores = details.stores.compactMapValues { store -> CashInstructions.StoreNumbers? in
                    guard let confirmation = store.confirmationNumber, let code = store.paymentCode else { return nil }
                    return .init(confirmationNumber: confirmation, paymentCode: code)
                }
                return .konbini(expiresAt: details.expiresAt, voucherURL: details.hostedVoucherUrl, stores: stores)
            }
        case "payeasy_display_details":
            if let details = row.payeasyDisplayDetails {
                return .payeasy(
                    expiresAt: details.expiresAt, instructionsURL: details.hostedInstructionsUrl,
                    numbers: CashInstructions(
                        institutionNumber: details.institutionNumber, customerNumber: details.customerNumber, confirmationNumber: details.confirmationNumber))
            }
        default:
            break
        }
        throw RowJSON.Corrupt(table: "payment_intents", id: id)
    }
}

extension RefundNextAction {
    func stored() throws -> String {
        try StoredNextAction.encode(
            StoredRefundAction(displayDetails: .init(emailSent: .init(emailSentAt: emailSentAt, emailSentTo: emailSentTo), expiresAt: expiresAt)))
    }

    static func read(_ text: String) throws -> RefundNextAction {
        let row = try StoredNextAction.decoder.decode(StoredRefundAction.self, from: Data(text.utf8))
        return RefundNextAction(
            emailSentAt: row.displayDetails.emailSent.emailSentAt, emailSentTo: row.displayDetails.emailSent.emailSentTo,
            expiresAt: row.displayDetails.expiresAt)
    }
}

/// The stored layout; property names become the columns' snake_case keys.
private struct StoredNextAction: Codable {
    var type: String
    var redirectToUrl: Redirect? = nil
    var konbiniDisplayDetails: Konbini? = nil
    var payeasyDisplayDetails: Payeasy? = nil

    struct Redirect: Codable {
        var url: String
        var returnUrl: String?
    }
    struct Store: Codable {
        var confirmationNumber: String?
        var paymentCode: String?
    }
    struct Konbini: Codable {
        var expiresAt: Int64
        var hostedVoucherUrl: String
        var stores: [String: Store]
    }
    struct Payeasy: Codable {
        var expiresAt: Int64
        var hostedInstructionsUrl: String
        var institutionNumber: String?
        var customerNumber: String?
        var confirmationNumber: String?
    }

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

private struct StoredRefundAction: Codable {
    var type = "display_details"
    var displayDetails: Details

    struct Details: Codable {
        var emailSent: EmailSent
        var expiresAt: Int64
    }
    struct EmailSent: Codable {
        var emailSentAt: Int64
        var emailSentTo: String?
    }
}
