import Foundation
import HTTP
import KessaiTestSupport
import Ledger
import Testing

@testable import Console

@Suite("Console limits beyond one account's lockout: a spraying source, the session's absolute lifetime, accounts unused for 90 days")
struct AccountLimitTests {
    @Test(
        "a source that fails 50 times in 15 minutes, over any accounts, is refused even the right password; other sources are not; the window ends",
        arguments: TestBackend.available)
    func sprayingSource(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (user, _) = try await SignInTests.enrolled(services, test)
            // A spray: one guess at each of 50 names, none of them this operator's.
            for n in 1...50 {
                #expect(
                    try await services.signIn.password(.console, email: "staff\(n)@example.com", password: "Summer2026!!", source: "198.51.100.7") == .refused)
            }
            #expect(
                try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "198.51.100.7") == .refused,
                "the spraying source is refused even the right password")
            #expect(
                SignInTests.accepted(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.1"))
                    == user.id)
            let refusals = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: Int64.max)).filter {
                $0.entry.action == "console.login" && $0.entry.outcome == "failure:source_limited"
            }
            #expect(refusals.count == 1 && refusals.allSatisfy { $0.entry.source == "198.51.100.7" })
            test.clock.advance(by: 15 * 60 + 1)
            #expect(
                SignInTests.accepted(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "198.51.100.7"))
                    == user.id, "the window is over")
        }
    }

    @Test("a session kept busy still ends 12 hours after it began (and one idle 15 minutes sooner)", arguments: [TestBackend.sqlite])
    func absoluteLifetime(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let sessions = try test.gateway.consoleServices().sessions
            #expect(sessions.idleTimeout == 15 * 60 && sessions.absoluteLifetime == 12 * 3600)
            let (busy, _) = try await sessions.start(.console, stage: .active, userID: "usr_test")
            var elapsed: Int64 = 0
            while elapsed + 14 * 60 < 12 * 3600 {
                test.clock.advance(by: TimeInterval(14 * 60))
                elapsed += 14 * 60
                #expect(try await sessions.find(.console, token: busy) != nil, "busy at \(elapsed) s")
            }
            test.clock.advance(by: TimeInterval(12 * 3600 - elapsed))
            #expect(try await sessions.find(.console, token: busy) == nil, "12 hours after it began")
            #expect(try await sessions.find(.console, token: busy) == nil, "and it stays ended")

            let (idle, _) = try await sessions.start(.console, stage: .active, userID: "usr_test")
            test.clock.advance(by: 15 * 60)
            #expect(try await sessions.find(.console, token: idle) == nil)
        }
    }

    @Test("an account unused for 90 days is disabled at its next sign-in; a sign-in within 90 days keeps it", arguments: TestBackend.available)
    func unusedNinetyDays(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (user, secret) = try await SignInTests.enrolled(services, test)
            let day: TimeInterval = 86_400
            test.clock.advance(by: 89 * day)
            #expect(
                SignInTests.accepted(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.1"))
                    == user.id)
            let code = OneTimeCodes.code(secret: secret, at: test.clock.now())
            #expect(SignInTests.accepted(try await services.signIn.code(userID: user.id, code: code, source: "10.0.0.1")) == user.id)
            test.clock.advance(by: 89 * day)
            #expect(
                SignInTests.accepted(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.1"))
                    == user.id,
                "89 days after the last sign-in, not 178 after enrollment")
            test.clock.advance(by: 2 * day)
            #expect(try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.1") == .refused)
            #expect(try await services.accounts.row(id: user.id)?.status == "disabled")
            test.clock.advance(by: 60)
            #expect(
                try await services.signIn.password(.console, email: user.email, password: "blue kettle 1984", source: "10.0.0.1") == .refused,
                "disabled until an operator enables it")
            let outcomes = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: Int64.max)).filter { $0.entry.action == "console.login" }.map(
                \.entry.outcome)
            #expect(outcomes.contains("failure:unused_90_days"))
        }
    }
}
