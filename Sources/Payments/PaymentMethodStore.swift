public import KessaiCore
import SQLKit
public import Storage
public import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Tokenizes cards through the vault and reads payment methods back, one merchant at a time.
public struct PaymentMethodStore: Sendable {
    let database: KessaiDatabase
    let vault: Vault
    let clock: any KessaiClock

    public init(database: KessaiDatabase, vault: Vault, clock: any KessaiClock) {
        self.database = database
        self.vault = vault
        self.clock = clock
    }

    /// Stores a card in the vault and records its payment method, in one transaction; holds the
    /// security code in memory when one was given.
    /// - Returns: the new payment method.
    public func tokenize(_ request: CardTokenization, merchant: MerchantID, livemode: Bool, context: AccessContext) async throws -> PaymentMethod {
        let id = PaymentMethodID.random()
        var check: SecurityCodeCheck? = nil
        if let code = request.securityCode {
            check = await vault.holdSecurityCode(code, token: id, merchant: merchant) ? .unchecked : .unavailable
        }
        let row = PaymentMethodRow(
            id: id.rawValue, merchantID: merchant.rawValue, type: "card",
            brand: request.pan.brand.rawValue, last4: request.pan.last4,
            expMonth: request.expiry.month, expYear: request.expiry.year,
            fingerprint: "", funding: request.pan.brand.defaultFunding, country: nil,
            cvcCheck: check?.rawValue,
            billingDetails: try PaymentMethodRow.encode(request.billingDetails),
            metadata: try PaymentMethodRow.encode(request.metadata),
            livemode: livemode ? 1 : 0, createdAt: clock.now().unixSeconds
        )
        let stored: StoredCard
        do {
            // The card and the payment method that shows it are written in one atomic step.
            stored = try await vault.store(request.pan, token: id, merchant: merchant, context: context, in: database) { fingerprint in
                var row = row
                row.fingerprint = fingerprint
                return row.companion
            }
        } catch {
            // Nothing was committed, so the held code must not outlive its card.
            await vault.discardSecurityCode(token: id, merchant: merchant)
            throw error
        }
        var written = row
        written.fingerprint = stored.fingerprint
        return try written.domain()
    }

    /// Reads a payment method owned by this merchant.
    /// - Returns: `nil` when there is none, or it belongs to another merchant.
    public func retrieve(_ id: PaymentMethodID, merchant: MerchantID) async throws -> PaymentMethod? {
        try await database.withConnection { db in
            try await db.select().column("*").from("payment_methods")
                .where("id", .equal, id.rawValue)
                .where("merchant_id", .equal, merchant.rawValue)
                .first(decoding: PaymentMethodRow.self)?
                .domain()
        }
    }
}

/// The `payment_methods` row, mapped to and from the domain type explicitly.
struct PaymentMethodRow: Codable, Sendable {
    var id: String
    var merchantID: String
    var type: String
    var brand: String
    var last4: String
    var expMonth: Int
    var expYear: Int
    var fingerprint: String
    var funding: String
    var country: String?
    var cvcCheck: String?
    var billingDetails: String
    var metadata: String
    var livemode: Int
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, type, brand, last4, fingerprint, funding, country, metadata, livemode
        case merchantID = "merchant_id"
        case expMonth = "exp_month"
        case expYear = "exp_year"
        case cvcCheck = "cvc_check"
        case billingDetails = "billing_details"
        case createdAt = "created_at"
    }

    /// The row as the vault writes it beside the card.
    var companion: Vault.CompanionRow {
        Vault.CompanionRow(
            insert: """
                INSERT INTO payment_methods (id, merchant_id, type, brand, last4, exp_month, exp_year, fingerprint, funding,
                    country, cvc_check, billing_details, metadata, livemode, created_at)
                """,
            values: [
                id, merchantID, type, brand, last4, expMonth, expYear, fingerprint, funding,
                country, cvcCheck, billingDetails, metadata, livemode, createdAt,
            ]
        )
    }

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func domain() throws -> PaymentMethod {
        let decoder = JSONDecoder()
        return PaymentMethod(
            id: PaymentMethodID(rawValue: id),
            merchant: MerchantID(rawValue: merchantID),
            card: PaymentMethod.Card(
                brand: CardBrand(rawValue: brand) ?? .unknown,
                last4: last4, expMonth: expMonth, expYear: expYear,
                fingerprint: fingerprint, funding: funding, country: country,
                cvcCheck: cvcCheck.flatMap(SecurityCodeCheck.init(rawValue:))
            ),
            billingDetails: try decoder.decode(BillingDetails.self, from: Data(billingDetails.utf8)),
            metadata: try decoder.decode([String: String].self, from: Data(metadata.utf8)),
            livemode: livemode != 0,
            created: Date(unixSeconds: createdAt)
        )
    }
}
