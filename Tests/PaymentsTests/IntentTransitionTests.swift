import KessaiTestSupport
import Testing

@testable import Payments

@Suite("The PaymentIntent lifecycle: one table, every transition allowed or refused")
struct IntentTransitionTests {
    /// The lifecycle written out by hand, independently of the table: a row per status, a column
    /// per status in the order of `columns`; `x` allowed, `.` refused.
    static let columns: [PaymentIntent.Status] = [
        .requiresPaymentMethod, .requiresConfirmation, .requiresAction, .processing, .requiresCapture, .succeeded, .canceled,
    ]
    static let expected: [(PaymentIntent.Status, String)] = [
        //                       rpm rc  ra  pr  rca su  ca
        (.requiresPaymentMethod, ".   x   x   x   .   .   x"),
        (.requiresConfirmation, "x   .   x   x   .   .   x"),
        (.requiresAction, "x   x   .   x   .   x   x"),
        (.processing, "x   x   x   .   x   x   x"),
        (.requiresCapture, ".   .   .   x   .   .   x"),
        (.succeeded, ".   .   .   .   .   .   ."),
        (.canceled, ".   .   .   .   .   .   ."),
    ]

    static var cases: [(PaymentIntent.Status, PaymentIntent.Status, Bool)] {
        expected.flatMap { from, row in
            zip(columns, row.split(separator: " ")).map { to, mark in (from, to, mark == "x") }
        }
    }

    @Test("each of the 49 (from, to) pairs is allowed or refused as the lifecycle says", arguments: cases)
    func transition(from: PaymentIntent.Status, to: PaymentIntent.Status, allowed: Bool) {
        #expect(from.canMove(to: to) == allowed, "\(from.rawValue) → \(to.rawValue)")
    }

    @Test("the table covers every status, and a refused move throws and leaves the intent as it was")
    func refusedMoveChangesNothing() throws {
        #expect(Set(PaymentIntent.Status.transitions.keys) == Set(PaymentIntent.Status.all))
        #expect(Self.cases.count == 49)
        var intent = CardPayments.newIntent(.init(amount: 1000, currency: .jpy), merchant: .init(rawValue: "acct_test"), livemode: false, now: .testNow)
        #expect(intent.status == .requiresPaymentMethod)
        #expect(throws: IllegalTransition(from: .requiresPaymentMethod, to: .succeeded)) { try intent.move(to: .succeeded) }
        #expect(intent.status == .requiresPaymentMethod)
        try intent.move(to: .processing)
        try intent.move(to: .requiresCapture)
        try intent.move(to: .processing)
        try intent.move(to: .succeeded)
        #expect(throws: IllegalTransition.self) { try intent.move(to: .canceled) }
        #expect(intent.status == .succeeded)
    }
}
