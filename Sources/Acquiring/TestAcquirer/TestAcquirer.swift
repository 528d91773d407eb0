public import KessaiCore
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A simulated acquirer that answers like a card network for documented test card numbers
/// (README, "Test cards"). It keeps its own books — every operation, by attempt — in its own
/// table, written and committed before it answers, the way a real acquirer's records exist
/// whatever happens to Kessai afterwards. Kessai's tables are never touched here.
///
/// `latency` delays each answer after the operation is recorded, as a network would; the crash
/// tests use it to kill Kessai between "the acquirer charged" and "Kessai committed".
public struct TestAcquirer: AcquirerConnector {
    public let name = "test"
    let database: KessaiDatabase
    let clock: any KessaiClock
    let latency: Duration

    public init(database: KessaiDatabase, clock: any KessaiClock, latency: Duration = .zero) {
        self.database = database
        self.clock = clock
        self.latency = latency
    }

    /// The behaviour of each test card number; any other valid number is approved.
    public enum Behaviour: Sendable, Equatable {
        case approve
        case decline(Decline)
        case challenge
    }

    public static func behaviour(of pan: PAN) -> Behaviour {
        switch pan.digits {
        case "4000000000000002": .decline(Decline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined."))
        case "4000000000009995":
            .decline(Decline(code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds."))
        case "4000000000009987": .decline(Decline(code: "card_declined", declineCode: "lost_card", message: "Your card was declined."))
        case "4000000000009979": .decline(Decline(code: "card_declined", declineCode: "stolen_card", message: "Your card was declined."))
        case "4000000000000069": .decline(Decline(code: "expired_card", declineCode: "expired_card", message: "Your card has expired."))
        case "4000000000000127": .decline(Decline(code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect."))
        case "4000000000000119":
            .decline(
                Decline(
                    code: "processing_error", declineCode: "processing_error",
                    message: "An error occurred while processing your card. Try again in a little bit."))
        case "4000002760003184": .challenge
        default: .approve
        }
    }

    public func authentication(for card: CardDetails, amount: Money) async throws -> AuthenticationDecision {
        Self.behaviour(of: card.pan) == .challenge ? .challenge : .frictionless
    }

    public func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationOutcome {
        let outcome: AuthorizationOutcome
        switch Self.behaviour(of: request.card.pan) {
        case .decline(let decline):
            outcome = .declined(decline)
        case .challenge where request.authentication != .challenged:
            // The issuer refuses an unauthenticated authorization for a card that needs 3-D Secure.
            outcome = .declined(
                Decline(
                    code: "authentication_required", declineCode: "authentication_required",
                    message: "Your card was declined. This transaction requires authentication."))
        case .approve, .challenge:
            outcome = .approved(
                reference: "ta_" + Base62.random(count: 20), captured: request.capture, cvc: request.card.securityCode == nil ? .unchecked : .pass)
        }
        // The books take an attempt once (one statement); the same attempt again gets the answer
        // recorded the first time, as a network answers a retransmitted request.
        let recordedNow: Bool
        switch outcome {
        case .approved(let reference, let captured, _):
            recordedNow = try await record(request.attempt, kind: captured ? .sale : .authorize, reference: reference, amount: request.amount, decline: nil)
        case .declined(let decline):
            recordedNow = try await record(
                request.attempt, kind: request.capture ? .sale : .authorize, reference: nil, amount: request.amount, decline: decline)
        }
        guard recordedNow else {
            guard let recorded = try await lookup(attempt: request.attempt) else { throw TestAcquirerError.lostRecord }
            return recorded.approved
                ? .approved(reference: recorded.reference ?? "", captured: recorded.kind == .sale, cvc: request.card.securityCode == nil ? .unchecked : .pass)
                : .declined(recorded.decline ?? Self.genericDecline)
        }
        try await Task.sleep(for: latency)
        return outcome
    }

    public func capture(reference: String, amount: Money, attempt: AttemptID) async throws -> OperationOutcome {
        try await operate(.capture, reference: reference, amount: amount, attempt: attempt) { books in
            guard books.authorized > 0, books.captured == 0, !books.voided else { return "the authorization is not open for capture" }
            return amount.minorUnits <= books.authorized ? nil : "capture exceeds the authorized amount"
        }
    }

    public func void(reference: String, attempt: AttemptID) async throws -> OperationOutcome {
        try await operate(.void, reference: reference, amount: Money(minorUnits: 0, currency: .jpy), attempt: attempt) { books in
            books.authorized > 0 && books.captured == 0 && !books.voided ? nil : "the authorization cannot be voided"
        }
    }

    public func refund(reference: String, amount: Money, attempt: AttemptID) async throws -> OperationOutcome {
        try await operate(.refund, reference: reference, amount: amount, attempt: attempt) { books in
            amount.minorUnits <= books.captured - books.refunded ? nil : "refund exceeds the captured amount"
        }
    }

    public func lookup(attempt: AttemptID) async throws -> RecordedOperation? {
        try await database.withConnection { db in
            guard
                let row = try await db.select().columns("kind", "approved", "reference", "amount", "decline_code", "error_code", "message")
                    .from("test_acquirer_operations").where("attempt_id", .equal, attempt.rawValue).first()
            else { return nil }
            let approved = try row.decode(column: "approved", as: Int.self) != 0
            var decline: Decline?
            if !approved {
                decline = Decline(
                    code: try row.decode(column: "error_code", as: String?.self) ?? "card_declined",
                    declineCode: try row.decode(column: "decline_code", as: String?.self) ?? "generic_decline",
                    message: try row.decode(column: "message", as: String?.self) ?? "Your card was declined.")
            }
            return RecordedOperation(
                kind: RecordedOperation.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .authorize, approved: approved,
                reference: try row.decode(column: "reference", as: String?.self), amount: try row.decode(column: "amount", as: Int64.self), decline: decline)
        }
    }

    /// How many operations of a kind the acquirer approved for a reference (tests and the
    /// crash benchmark count charges with this).
    public func books(reference: String) async throws -> Books {
        try await database.withConnection { db in try await Self.books(reference: reference, on: db) }
    }

    public struct Books: Sendable, Equatable {
        public var authorized: Int64 = 0
        public var captured: Int64 = 0
        public var refunded: Int64 = 0
        public var voided = false
    }

    static let genericDecline = Decline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined.")

    static func books(reference: String, on db: any SQLDatabase) async throws -> Books {
        var books = Books()
        let rows = try await db.select().columns("kind", "amount").from("test_acquirer_operations")
            .where("reference", .equal, reference).where("approved", .equal, 1).all()
        for row in rows {
            let amount = try row.decode(column: "amount", as: Int64.self)
            switch RecordedOperation.Kind(rawValue: try row.decode(column: "kind", as: String.self)) {
            case .authorize: books.authorized += amount
            case .sale:
                books.authorized += amount
                books.captured += amount
            case .capture: books.captured += amount
            case .refund: books.refunded += amount
            case .void: books.voided = true
            case nil: break
            }
        }
        return books
    }

    private func operate(
        _ kind: RecordedOperation.Kind, reference: String, amount: Money, attempt: AttemptID, refuse: @Sendable @escaping (Books) -> String?
    ) async throws -> OperationOutcome {
        if let recorded = try await lookup(attempt: attempt) {
            return recorded.approved ? .succeeded(reference: reference) : .failed(recorded.decline ?? Self.genericDecline)
        }
        let clock = self.clock
        let outcome = try await database.transaction { db -> OperationOutcome in
            let books = try await Self.books(reference: reference, on: db)
            if let reason = refuse(books) {
                let decline = Decline(code: "processing_error", declineCode: "invalid_operation", message: reason)
                try await Self.insert(attempt, kind, reference: reference, amount: amount, decline: decline, now: clock.now(), on: db)
                return .failed(decline)
            }
            try await Self.insert(attempt, kind, reference: reference, amount: amount, decline: nil, now: clock.now(), on: db)
            return .succeeded(reference: reference)
        }
        try await Task.sleep(for: latency)
        return outcome
    }

    /// Records an operation unless its attempt is in the books already.
    /// - Returns: whether it was recorded now.
    private func record(_ attempt: AttemptID, kind: RecordedOperation.Kind, reference: String?, amount: Money, decline: Decline?) async throws -> Bool {
        let now = clock.now()
        let values: [SQLValue] = [
            .text(attempt.rawValue), .text(kind.rawValue), .flag(decline == nil), .text(reference), .integer(amount.minorUnits),
            .text(amount.currency.code), .text(decline?.code), .text(decline?.declineCode), .text(decline?.message), .integer(now.unixSeconds),
        ]
        return try await database.withConnection { db in try await db.rows(RecordOnce.self, values).count == 1 }
    }

    /// An operation into the books unless its attempt is there already (one statement).
    enum RecordOnce: ConstantStatement {
        static let text = """
            INSERT INTO test_acquirer_operations (attempt_id, kind, approved, reference, amount, currency, error_code, decline_code, \
            message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (attempt_id) DO NOTHING RETURNING attempt_id
            """
        static let parameters: [SQLValue.Kind] = [.text, .text, .integer, .text, .integer, .text, .text, .text, .text, .integer]
    }

    private static func insert(
        _ attempt: AttemptID, _ kind: RecordedOperation.Kind, reference: String?, amount: Money, decline: Decline?, now: Date, on db: any SQLDatabase
    ) async throws {
        try await db.insert(into: "test_acquirer_operations")
            .columns("attempt_id", "kind", "approved", "reference", "amount", "currency", "error_code", "decline_code", "message", "created_at")
            .values(
                SQLBind(attempt.rawValue), SQLBind(kind.rawValue), SQLBind(decline == nil ? 1 : 0), SQLBind(reference), SQLBind(amount.minorUnits),
                SQLBind(amount.currency.code), SQLBind(decline?.code), SQLBind(decline?.declineCode), SQLBind(decline?.message), SQLBind(now.unixSeconds)
            )
            .run()
    }
}

/// The test acquirer's books refused an attempt as a repeat but hold no record of it (rows
/// deleted by hand): the outcome is unknown, so the attempt stays pending for the reconciler.
enum TestAcquirerError: Error {
    case lostRecord
}
