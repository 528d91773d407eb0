/// The Luhn (mod 10) check digit algorithm used by every card number.
public enum Luhn {
    /// Whether a string of ASCII digits passes the Luhn check.
    /// - Parameter digits: ASCII digits only; anything else fails.
    /// - Returns: `true` when the check digit is right.
    public static func isValid(_ digits: some StringProtocol) -> Bool {
        var sum = 0
        var double = false
        var count = 0
        for scalar in digits.unicodeScalars.reversed() {
            guard let value = scalar.asciiDigitValue else { return false }
            var digit = value
            if double {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
            double.toggle()
            count += 1
        }
        return count > 0 && sum % 10 == 0
    }
}

extension Unicode.Scalar {
    /// The value of an ASCII digit `0`–`9`, or `nil`.
    @inlinable
    package var asciiDigitValue: Int? {
        (48...57).contains(value) ? Int(value - 48) : nil
    }
}
