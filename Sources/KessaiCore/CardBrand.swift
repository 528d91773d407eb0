/// Card brands recognised by number range, named as Stripe names them.
public enum CardBrand: String, Sendable, CaseIterable, Codable {
    case visa
    case mastercard
    case amex
    case jcb
    case diners
    case discover
    case unionpay
    case unknown

    /// Detects the brand from the leading digits (IIN ranges as published by the networks).
    /// - Parameter digits: the card number's ASCII digits; a prefix is enough.
    /// - Returns: the brand, or `.unknown`.
    public static func detect(_ digits: some StringProtocol) -> CardBrand {
        func prefix(_ n: Int) -> Int? {
            guard digits.count >= n else { return nil }
            return Int(digits.prefix(n))
        }
        if let p4 = prefix(4), (3528...3589).contains(p4) { return .jcb }
        if let p2 = prefix(2), p2 == 34 || p2 == 37 { return .amex }
        if let p3 = prefix(3), (300...305).contains(p3) { return .diners }
        if let p2 = prefix(2), p2 == 36 || p2 == 38 || p2 == 39 { return .diners }
        if let p4 = prefix(4), p4 == 6011 { return .discover }
        if let p3 = prefix(3), (644...649).contains(p3) { return .discover }
        if let p2 = prefix(2), p2 == 65 { return .discover }
        if let p6 = prefix(6), (622126...622925).contains(p6) { return .discover }
        if let p2 = prefix(2), p2 == 62 || p2 == 81 { return .unionpay }
        if let p2 = prefix(2), (51...55).contains(p2) { return .mastercard }
        if let p6 = prefix(6), (222100...272099).contains(p6) { return .mastercard }
        if digits.first == "4" { return .visa }
        return .unknown
    }

    /// Lengths a number of this brand may have.
    public var validLengths: ClosedRange<Int> {
        switch self {
        case .visa: 13...19
        case .mastercard: 16...16
        case .amex: 15...15
        case .jcb: 16...19
        case .diners: 14...19
        case .discover: 16...19
        case .unionpay: 16...19
        case .unknown: 12...19
        }
    }

    /// The length of this brand's security code (CID for American Express, CVC/CVV elsewhere).
    public var securityCodeLength: Int {
        self == .amex ? 4 : 3
    }

    /// Funding type is not knowable from the range alone without a BIN table; test and
    /// development cards report `credit`, as Stripe's test cards do.
    public var defaultFunding: String { "credit" }
}
