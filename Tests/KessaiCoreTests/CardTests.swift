import Foundation
import KessaiCore
import KessaiTestSupport
import Logging
import Testing

@Suite("Card numbers, brands and security codes")
struct CardTests {
    @Test("every test card passes Luhn and is detected as its brand", arguments: TestCards.all)
    func brands(card: TestCards.Card) throws {
        #expect(Luhn.isValid(card.number))
        let pan = try PAN(card.number)
        #expect(pan.brand.rawValue == card.brand)
        #expect(pan.last4 == String(card.number.suffix(4)))
    }

    @Test(
        "brand ranges",
        arguments: [
            ("4", CardBrand.visa), ("51", .mastercard), ("55", .mastercard), ("2221", .mastercard), ("2720", .mastercard),
            ("34", .amex), ("37", .amex), ("3528", .jcb), ("3589", .jcb), ("300", .diners), ("36", .diners), ("38", .diners),
            ("6011", .discover), ("644", .discover), ("65", .discover), ("62", .unionpay), ("1", .unknown), ("2721", .unknown), ("9", .unknown),
        ])
    func ranges(prefix: String, brand: CardBrand) {
        #expect(CardBrand.detect(prefix.padding(toLength: 16, withPad: "0", startingAt: 0)) == brand)
    }

    @Test(
        "a wrong check digit, a wrong length, or a non-digit is incorrect_number",
        arguments: [
            "4242424242424241", "424242424242", "42424242424242424242", "4242a24242424242", "", "５５５５５５５５５５５５４４４４",
            "378282246310005000", "5555 5555 5555 4444 ;", String(repeating: "4", count: 40),
        ])
    func invalidNumbers(raw: String) {
        #expect(throws: CardInputError.incorrectNumber) { try PAN(raw) }
    }

    @Test("spaces and dashes typed by buyers are accepted")
    func grouping() throws {
        #expect(try PAN("4242 4242-4242 4242").last4 == "4242")
    }

    @Test("every textual form of a card number is masked")
    func panMasking() throws {
        let pan = try PAN("4242424242424242")
        var dumped = ""
        dump(pan, to: &dumped)
        for text in [pan.description, pan.debugDescription, "\(pan)", String(reflecting: pan), dumped] {
            #expect(!text.contains("424242424242"), "leaked: \(text)")
            #expect(text.contains("4242"))
        }
    }

    @Test("logging a card number or security code prints the masked form")
    func logMasking() throws {
        let capture = LogCapture()
        let logger = capture.logger()
        let pan = try PAN("5555555555554444")
        let code = try SecurityCode("846", brand: .mastercard)
        logger.info("card \(pan) code \(code)", metadata: ["pan": "\(pan)", "cvc": "\(code)"])
        let line = try #require(capture.all.first)
        #expect(!line.contains("5555555555554444"))
        #expect(!line.contains("846"))
        #expect(line.contains("••••4444"))
    }

    @Test("security code length follows the brand")
    func securityCodes() throws {
        _ = try SecurityCode("123", brand: .visa)
        _ = try SecurityCode("1234", brand: .amex)
        for (raw, brand) in [("1234", CardBrand.visa), ("123", .amex), ("12a", .visa), ("", .visa), ("1 2", .visa), ("１２３", .jcb)] {
            #expect(throws: CardInputError.invalidCVC) { try SecurityCode(raw, brand: brand) }
        }
        let code = try SecurityCode("907", brand: .jcb)
        #expect(!"\(code)".contains("907"))
        #expect(!String(reflecting: code).contains("907"))
    }

    @Test("expiry: month range, year range, past dates")
    func expiry() throws {
        let now = Date.testNow  // November 2026
        #expect(try CardExpiry(month: 11, year: 2026, now: now).year == 2026)
        #expect(try CardExpiry(month: 1, year: 30, now: now).year == 2030)
        #expect(throws: CardInputError.invalidExpiryMonth) { try CardExpiry(month: 13, year: 2030, now: now) }
        #expect(throws: CardInputError.invalidExpiryMonth) { try CardExpiry(month: 0, year: 2030, now: now) }
        #expect(throws: CardInputError.invalidExpiryMonth) { try CardExpiry(month: 10, year: 2026, now: now) }
        #expect(throws: CardInputError.invalidExpiryYear) { try CardExpiry(month: 12, year: 2025, now: now) }
        #expect(throws: CardInputError.invalidExpiryYear) { try CardExpiry(month: 12, year: 2100, now: now) }
        #expect(throws: CardInputError.invalidExpiryYear) { try CardExpiry(month: 12, year: 1999, now: now) }
    }

    @Test("identifiers: prefix, alphabet and length are checked")
    func identifiers() {
        let id = PaymentMethodID.random()
        #expect(id.rawValue.hasPrefix("pm_"))
        #expect(PaymentMethodID(parsing: id.rawValue) == id)
        #expect(PaymentMethodID(parsing: "acct_abc") == nil)
        #expect(PaymentMethodID(parsing: "pm_") == nil)
        #expect(PaymentMethodID(parsing: "pm_abc'--") == nil)
        #expect(PaymentMethodID(parsing: "pm_" + String(repeating: "a", count: 80)) == nil)
        #expect(MerchantID.random() != MerchantID.random())
    }
}
