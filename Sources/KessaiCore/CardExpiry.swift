#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A card's expiry month and year, checked against the current date.
public struct CardExpiry: Sendable, Hashable {
    public let month: Int
    public let year: Int

    /// Validates an expiry. A card is valid through the last day of its expiry month; a year
    /// more than 50 years ahead is refused.
    /// - Parameters:
    ///   - month: 1–12.
    ///   - year: four digits, or two digits meaning 20YY.
    ///   - now: the current time.
    /// - Throws: ``CardInputError`` for a bad month, a bad year, or a past expiry.
    public init(month: Int, year: Int, now: Date) throws(CardInputError) {
        guard (1...12).contains(month) else { throw .invalidExpiryMonth }
        let fullYear = (0...99).contains(year) ? 2000 + year : year
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        let current = utc.dateComponents([.year, .month], from: now)
        let thisYear = current.year ?? 1970
        let thisMonth = current.month ?? 1
        guard (2000...(thisYear + 50)).contains(fullYear) else { throw .invalidExpiryYear }
        // Stripe answers a past expiry at tokenization with the field that makes it past.
        if fullYear < thisYear { throw .invalidExpiryYear }
        if fullYear == thisYear && month < thisMonth { throw .invalidExpiryMonth }
        self.month = month
        self.year = fullYear
    }
}
