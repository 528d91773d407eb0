import Foundation
import HTTP
import KessaiTestSupport
import Ledger
import Testing

@testable import Console

@Suite("Console sign-in: RFC 6238 codes used once, PCI DSS password rules, lockout that ends only after 30 minutes")
struct SignInTests {
    @Test("codes match RFC 6238's SHA-1 vectors (leading zeros kept) and a step is accepted once, within one step of now")
    func totpVectors() {
        // RFC 6238 appendix B: secret "12345678901234567890", 8 digits; the last 6 are the 6-digit code.
        let secret = "12345678901234567890"
        #expect(OneTimeCodes.code(secret: secret, at: Date(timeIntervalSince1970: 59)) == "287082")
        #expect(OneTimeCodes.code(secret: secret, at: Date(timeIntervalSince1970: 1_111_111_109)) == "081804")
        #expect(OneTimeCodes.code(secret: secret, at: Date(timeIntervalSince1970: 2_000_000_000)) == "279037")
        let now = Date(timeIntervalSince1970: 1_111_111_109)
        let step = Int64(1_111_111_109) / 30
        #expect(OneTimeCodes.acceptedStep("081804", secret: secret, now: now, after: 0) == step)
        #expect(OneTimeCodes.acceptedStep("081804", secret: secret, now: now, after: step) == nil, "the same step twice")
        #expect(OneTimeCodes.acceptedStep("081804", secret: secret, now: now.addingTimeInterval(30), after: 0) == step, "one step of drift")
        #expect(OneTimeCodes.acceptedStep("081804", secret: secret, now: now.addingTimeInterval(90), after: 0) == nil, "three steps later")
        for bad in ["", "81804", "0818040", "08180a", "０８１８０４"] { #expect(OneTimeCodes.acceptedStep(bad, secret: secret, now: now, after: 0) == nil) }
    }

    @Test("passwords: 12 characters, letters and digits, no e-mail name, the two entries equal")
    func passwordRules() {
        let email = "hanako.yamada@example.jp"
        #expect(throws: Never.self) { try PasswordPolicy.check("blue kettle 1984", confirmation: "blue kettle 1984", email: email) }
        let refused: [(String, PasswordPolicy.Refusal)] = [
            ("short1abc", .tooShort), ("onlyletterspassword", .needsLettersAndDigits), ("123456789012345", .needsLettersAndDigits),
            ("hanako.yamada2026!", .containsName), (String(repeating: "a1", count: 70), .tooLong),
        ]
        for (password, refusal) in refused {
            #expect(throws: refusal) { try PasswordPolicy.check(password, confirmation: password, email: email) }
        }
        #expect(throws: PasswordPolicy.Refusal.mismatch) { try PasswordPolicy.check("blue kettle 1984", confirmation: "blue kettle 1985", email: email) }
    }

    static func accepted(_ outcome: SignIn.Outcome) -> String? {
        if case .accepted(let user) = outcome { return user.id }
        return nil
    }

    /// An enrolled operator and the authenticator secret it holds.
    static func enrolled(
        _ services: ConsoleServices, _ test: TestGateway, email: String = "ops@example.com", role: ConsoleRole = .admin
    )
        async throws -> (ConsoleUser, String)
    {
        let (user, _) = try await services.accounts.invite(.console, email: email, role: role, merchant: nil, actor: .system("test"))
        let secret = try await services.accounts.setPassword(user, password: "blue kettle 1984", confirmation: "blue kettle 1984", source: "10.0.0.1")
        _ = try await services.accounts.completeEnrollment(user, code: OneTimeCodes.code(secret: secret, at: test.clock.now()), source: "10.0.0.1")
        test.clock.advance(by: 30)
        return (user, secret)
    }

    @Test("10 wrong passwords lock the account for 30 minutes: the right one is refused like a wrong one until then", arguments: TestBackend.available)
    func lockout(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (user, _) = try await Self.enrolled(services, test)
            #expect(try await services.signIn.password(.console, email: "nobody@example.com", password: "blue kettle 1984", source: "10.0.0.9") == .refused)
            for attempt in 1...10 {
                #expect(try await services.signIn.password(.console, email: user.email, password: "wrong \(attempt) guess", source: "10.0.0.9") == .refused)
            }
            #expect(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.9") == .refused)
            test.clock.advance(by: 29 * 60)
            #expect(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.9") == .refused)
            test.clock.advance(by: 61)
            guard
                case .accepted(let signedIn) = try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.9")
            else {
                Issue.record("the lock did not end after 30 minutes")
                return
            }
            #expect(signedIn.id == user.id)
            let all = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: Int64.max))
            #expect(all.filter { $0.entry.action == "console.lockout" && $0.entry.objects["user"] == user.id }.count == 1)
            let attempts = all.filter { $0.entry.action == "console.login" }
            #expect(attempts.count == 14, "every attempt is in the ledger: 1 unknown + 10 wrong + 2 while locked + 1 accepted")
            #expect(attempts.allSatisfy { $0.entry.source == "10.0.0.9" })
            #expect(!attempts.contains { $0.entry.canonical.contains("wrong ") || $0.entry.canonical.contains("kettle") }, "no password reaches the ledger")
        }
    }

    @Test("a code is accepted once: the same code again, even in the same step, is refused; a recovery code works once", arguments: TestBackend.available)
    func replay(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (user, secret) = try await Self.enrolled(services, test)
            let code = OneTimeCodes.code(secret: secret, at: test.clock.now())
            #expect(Self.accepted(try await services.signIn.code(userID: user.id, code: code, source: "10.0.0.1")) == user.id)
            #expect(try await services.signIn.code(userID: user.id, code: code, source: "10.0.0.1") == .refused)
            // Recovery codes: reset the account and enroll again to see them.
            let token = try await services.accounts.resetMFA(user.id, actor: .system("test"), source: nil)
            guard let again = try await services.accounts.enrolling(.console, token: token.exposed) else {
                Issue.record("the reset's enrollment link does not work")
                return
            }
            let next = try await services.accounts.setPassword(again, password: "green kettle 2001", confirmation: "green kettle 2001", source: nil)
            test.clock.advance(by: 30)
            let recovery = try await services.accounts.completeEnrollment(again, code: OneTimeCodes.code(secret: next, at: test.clock.now()), source: nil)
            #expect(recovery.count == 10 && Set(recovery).count == 10)
            #expect(Self.accepted(try await services.signIn.code(userID: user.id, code: recovery[3], source: "10.0.0.1")) == user.id)
            #expect(try await services.signIn.code(userID: user.id, code: recovery[3], source: "10.0.0.1") == .refused)
            // The earlier password is one of the last four: refused on the next reset.
            let token2 = try await services.accounts.resetMFA(user.id, actor: .system("test"), source: nil)
            let third = try #require(try await services.accounts.enrolling(.console, token: token2.exposed))
            await #expect(throws: ConsoleError.password(.reused)) {
                _ = try await services.accounts.setPassword(third, password: "blue kettle 1984", confirmation: "blue kettle 1984", source: nil)
            }
        }
    }

    @Test("dual control: the requester cannot approve; a second operator can, once", arguments: TestBackend.available)
    func dualControl(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (first, _) = try await Self.enrolled(services, test, email: "first@example.com")
            let (second, _) = try await Self.enrolled(services, test, email: "second@example.com")
            let request = try await services.approvals.request(.createAdmin, subject: ["email": "third@example.com"], by: first, source: nil)
            await #expect(throws: ConsoleError.ownRequest) { _ = try await services.approvals.approve(request.id, by: first, source: nil) }
            #expect(try await services.approvals.approve(request.id, by: second, source: nil).action == .createAdmin)
            await #expect(throws: ConsoleError.notPending) { _ = try await services.approvals.approve(request.id, by: second, source: nil) }
            #expect(try await services.approvals.pending().isEmpty)
        }
    }
}
