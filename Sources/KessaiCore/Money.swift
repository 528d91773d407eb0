/// A currency and its minor unit, from the ISO 4217 table (the subset Kessai accepts).
public struct Currency: Hashable, Sendable, Codable {
    /// Lower-case ISO 4217 code, as Stripe writes it.
    public let code: String
    /// Number of decimal places of the minor unit (0 for JPY).
    public let minorUnitDigits: Int
    /// Largest amount accepted in minor units.
    public let maximumAmount: Int64

    public static let jpy = Currency(code: "jpy", minorUnitDigits: 0, maximumAmount: 99_999_999)
    public static let usd = Currency(code: "usd", minorUnitDigits: 2, maximumAmount: 99_999_999)
    public static let eur = Currency(code: "eur", minorUnitDigits: 2, maximumAmount: 99_999_999)

    /// The currencies Kessai knows.
    public static let all: [Currency] = [.jpy, .usd, .eur]

    /// Looks a currency up by its code, in any case.
    public init?(code: String) {
        guard let found = Currency.all.first(where: { $0.code == code.lowercased() }) else { return nil }
        self = found
    }

    private init(code: String, minorUnitDigits: Int, maximumAmount: Int64) {
        self.code = code
        self.minorUnitDigits = minorUnitDigits
        self.maximumAmount = maximumAmount
    }
}

/// An amount of money in integer minor units; there is no floating point anywhere near an amount.
public struct Money: Hashable, Sendable, Codable {
    public let minorUnits: Int64
    public let currency: Currency

    /// Creates an amount.
    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }
}
