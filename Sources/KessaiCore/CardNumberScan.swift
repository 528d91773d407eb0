/// Finds card numbers where none belongs: a merchant who pastes a number into a description, a
/// metadata value or an idempotency key (PCI DSS 12.10.7, "card data where it is not expected").
///
/// A find is a run of 13 to 19 digits that passes Luhn and has the prefix and length of a known
/// brand. Digits may be grouped by single spaces or dashes (`4242 4242 4242 4242`), and
/// full-width digits and separators count as their ASCII forms, as Japanese input methods type
/// them. A number may start at the beginning of any group of a run and end at the end of any
/// later group, so `4242 4242 4242 4242 12/34` is found while a 16-digit reference number is
/// judged whole (not by each 13-digit prefix that happens to pass Luhn). A timestamp such as
/// `20261202123456` has no brand's prefix and is not a find; refusing is the safer error, so any
/// brand's range counts.
public enum CardNumberScan {
    /// Whether `text` holds something that looks like a card number.
    public static func containsCardNumber(_ text: some StringProtocol) -> Bool {
        var digits: [UInt8] = []
        var starts: [Int] = []
        var ends: [Int] = []
        var afterSeparator = false
        for scalar in text.unicodeScalars {
            if let digit = digitValue(scalar) {
                if digits.isEmpty || afterSeparator {
                    if !digits.isEmpty { ends.append(digits.count) }
                    starts.append(digits.count)
                }
                digits.append(digit)
                afterSeparator = false
            } else if isSeparator(scalar) && !digits.isEmpty && !afterSeparator {
                afterSeparator = true
            } else {
                if runHoldsCardNumber(digits, starts: starts, ends: ends) { return true }
                digits.removeAll(keepingCapacity: true)
                starts.removeAll(keepingCapacity: true)
                ends.removeAll(keepingCapacity: true)
                afterSeparator = false
            }
        }
        return runHoldsCardNumber(digits, starts: starts, ends: ends)
    }

    /// Whether a run holds a card number from the start of one group to the end of another.
    static func runHoldsCardNumber(_ digits: [UInt8], starts: [Int], ends: [Int]) -> Bool {
        guard digits.count >= 13 else { return false }
        let ends = ends + [digits.count]
        for start in starts {
            for end in ends where (13...19).contains(end - start) {
                let candidate = String(decoding: digits[start..<end].map { $0 + 48 }, as: UTF8.self)
                let brand = CardBrand.detect(candidate)
                if brand != .unknown, brand.validLengths.contains(end - start), Luhn.isValid(candidate) { return true }
            }
        }
        return false
    }

    /// ASCII `0`–`9` and full-width `０`–`９`.
    static func digitValue(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x30...0x39: UInt8(scalar.value - 0x30)
        case 0xFF10...0xFF19: UInt8(scalar.value - 0xFF10)
        default: nil
        }
    }

    /// A space or dash between groups, ASCII or full-width (and the ideographic space).
    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        [0x20, 0x2D, 0x3000, 0xFF0D, 0x2010, 0x2011, 0x2012, 0x2013, 0x2212].contains(scalar.value)
    }
}
