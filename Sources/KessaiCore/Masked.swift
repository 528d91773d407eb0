/// A card number (primary account number). Its clear digits are readable only inside the package
/// (the vault encrypts them); every textual form — `description`, `debugDescription`, the mirror,
/// string interpolation — shows at most the last four digits.
public struct PAN: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The clear digits. `package` so that only Kessai's own targets (the vault) can read them.
    package let digits: String

    /// Validates and wraps a card number.
    /// - Parameter raw: digits, optionally grouped by spaces or dashes as buyers type them.
    /// - Throws: ``CardInputError/incorrectNumber`` when the number has a non-digit, a wrong length
    ///   for its brand, or fails the Luhn check.
    public init(_ raw: String) throws(CardInputError) {
        guard raw.utf8.count <= 32 else { throw .incorrectNumber }
        var clean = ""
        clean.reserveCapacity(19)
        for scalar in raw.unicodeScalars {
            if scalar.asciiDigitValue != nil {
                clean.unicodeScalars.append(scalar)
            } else if scalar == " " || scalar == "-" {
                continue
            } else {
                throw .incorrectNumber
            }
        }
        let brand = CardBrand.detect(clean)
        guard brand.validLengths.contains(clean.count), Luhn.isValid(clean) else {
            throw .incorrectNumber
        }
        self.digits = clean
        self.brand = brand
    }

    /// The card brand, detected from the number range.
    public let brand: CardBrand

    /// The last four digits, which may be shown to merchants and buyers.
    public var last4: String { String(digits.suffix(4)) }

    /// The first six digits (the issuer identification number), which PCI DSS allows to show
    /// with the last four.
    public var bin: String { String(digits.prefix(6)) }

    public var description: String { "PAN(••••\(last4))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["masked": description]) }
}

/// A card security code (CVC, CVV, CID). Never written anywhere in clear: held encrypted, in memory
/// only, until the first authorization or a short time limit. Every textual form is masked.
public struct SecurityCode: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let digits: String

    /// Validates a security code for a brand.
    /// - Parameters:
    ///   - raw: the digits as typed.
    ///   - brand: the card's brand, which decides the length (4 for American Express, 3 otherwise).
    /// - Throws: ``CardInputError/invalidCVC`` when it is not exactly that many ASCII digits.
    public init(_ raw: String, brand: CardBrand) throws(CardInputError) {
        guard raw.utf8.count == brand.securityCodeLength,
            raw.unicodeScalars.allSatisfy({ $0.asciiDigitValue != nil })
        else { throw .invalidCVC }
        self.digits = raw
    }

    /// Rebuilds a code that was validated before it was sealed.
    package init(validatedDigits: String) {
        self.digits = validatedDigits
    }

    public var description: String { "SecurityCode(•••)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["masked": description]) }
}

/// Any secret value (API key, signing secret) whose textual forms are masked.
public struct Secret<Value: Sendable & Hashable>: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The wrapped value; read it only where it is actually needed.
    public let exposed: Value

    /// Wraps a value.
    public init(_ value: Value) { self.exposed = value }

    public var description: String { "Secret(••••)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["masked": description]) }
}

/// Why card input was refused. Each case maps to Stripe's `card_error` code of the same meaning.
public enum CardInputError: Error, Sendable, Equatable {
    case incorrectNumber
    case invalidExpiryMonth
    case invalidExpiryYear
    case expiredCard
    case invalidCVC
}
