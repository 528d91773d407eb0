import Acquiring
import Testing

@testable import Payments

@Suite("NextAction: typed in the domain, stored as JSON that rows written before the type read back")
struct NextActionStorageTests {
    static let actions: [NextAction] = [
        .redirect(url: "https://pay.example/emoney/test/abc", returnURL: "https://shop.example/done"),
        .redirect(url: "https://pay.example/3ds/ch_1", returnURL: nil),
        .konbini(
            expiresAt: 1_800_000_000, voucherURL: "https://pay.example/vouchers/t1",
            stores: [
                "lawson": .init(confirmationNumber: "11111111111", paymentCode: "123456"),
                "familymart": .init(confirmationNumber: "22222222222", paymentCode: "654321"),
            ]),
        .payeasy(
            expiresAt: 1_800_000_000, instructionsURL: "https://pay.example/vouchers/t2",
            numbers: CashInstructions(institutionNumber: "58091", customerNumber: "12345678901234567890", confirmationNumber: "123456")),
    ]

    @Test("every kind reads back as it was written", arguments: actions)
    func roundTrip(action: NextAction) throws {
        #expect(try NextAction.read(try action.stored(), row: "pi_test") == action)
    }

    @Test("rows in the layout written before the type existed read back (nulls for stores without numbers)")
    func legacyRows() throws {
        let konbini = """
            {"konbini_display_details":{"expires_at":1800000000,"hosted_voucher_url":"https://pay.example/vouchers/t1","stores":{"familymart":{"confirmation_number":null,"payment_code":null},"lawson":{"confirmation_number":"11111111111","payment_code":"123456"},"ministop":{"confirmation_number":null,"payment_code":null},"seicomart":{"confirmation_number":null,"payment_code":null}}},"type":"konbini_display_details"}
            """
        #expect(
            try NextAction.read(konbini, row: "pi_old")
                == .konbini(
                    expiresAt: 1_800_000_000, voucherURL: "https://pay.example/vouchers/t1",
                    stores: ["lawson": .init(confirmationNumber: "11111111111", paymentCode: "123456")]))
        let redirect = #"{"redirect_to_url":{"return_url":"https://shop.example/r","url":"https://pay.example/emoney/test/x"},"type":"redirect_to_url"}"#
        #expect(try NextAction.read(redirect, row: "pi_old") == .redirect(url: "https://pay.example/emoney/test/x", returnURL: "https://shop.example/r"))
        let refund = #"{"display_details":{"email_sent":{"email_sent_at":1700000000,"email_sent_to":null},"expires_at":1703888000},"type":"display_details"}"#
        #expect(try RefundNextAction.read(refund) == RefundNextAction(emailSentAt: 1_700_000_000, emailSentTo: nil, expiresAt: 1_703_888_000))
    }

    @Test("a stored kind Kessai does not know is refused as corrupt, not guessed at")
    func unknownKind() {
        #expect(throws: RowJSON.Corrupt.self) { try NextAction.read(#"{"type":"wechat_pay_display_qr_code"}"#, row: "pi_x") }
        #expect(throws: RowJSON.Corrupt.self) { try NextAction.read(#"{"type":"konbini_display_details"}"#, row: "pi_x") }
    }
}
