import Foundation
import HTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KessaiCore
import KessaiTestSupport
import Ledger
import NIOCore
import Testing

@testable import Console

@Suite("A merchant's team, by its owners: another role, access ended; only their own members; an active owner always remains")
struct TeamTests {
    static func member(
        _ services: ConsoleServices, _ test: TestGateway, _ email: String, _ role: ConsoleRole, of merchant: MerchantID
    ) async throws
        -> ConsoleUser
    {
        let (user, _) = try await services.accounts.invite(.dashboard, email: email, role: role, merchant: merchant, actor: .system("test"))
        let secret = try await services.accounts.setPassword(user, password: "blue kettle 1984", confirmation: "blue kettle 1984", source: nil)
        _ = try await services.accounts.completeEnrollment(user, code: OneTimeCodes.code(secret: secret, at: test.clock.now()), source: nil)
        return try #require(try await services.accounts.find(id: user.id))
    }

    @Test(
        "roles change and access ends within the merchant's own team, each a ledger entry; another merchant's member is not found; the last owner stays an owner",
        arguments: TestBackend.available)
    func changes(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (shop, other) = (try await test.merchant("Shop"), try await test.merchant("Other"))
            let owner = try await Self.member(services, test, "owner@shop.example", .owner, of: shop.id)
            let developer = try await Self.member(services, test, "dev@shop.example", .developer, of: shop.id)
            let stranger = try await Self.member(services, test, "owner@other.example", .owner, of: other.id)
            let actor = LedgerActor(.operator, "dashboard:owner@shop.example")
            let accounts = services.accounts

            try await accounts.changeTeamRole(developer.id, merchant: shop.id, to: .analyst, actor: actor, source: "10.0.0.1")
            #expect(try await accounts.find(id: developer.id)?.role == .analyst)
            await #expect(throws: ConsoleError.notFound) {
                try await accounts.changeTeamRole(stranger.id, merchant: shop.id, to: .viewOnly, actor: actor, source: nil)
            }
            await #expect(throws: ConsoleError.notFound) { try await accounts.disableTeamMember(stranger.id, merchant: shop.id, actor: actor, source: nil) }
            let untouched = try await accounts.find(id: stranger.id)
            #expect(untouched?.status == .active && untouched?.role == .owner)
            await #expect(throws: ConsoleError.invalidRole) {
                try await accounts.changeTeamRole(developer.id, merchant: shop.id, to: .admin, actor: actor, source: nil)
            }
            // The only owner can neither step down nor be disabled ...
            await #expect(throws: ConsoleError.lastOwner) {
                try await accounts.changeTeamRole(owner.id, merchant: shop.id, to: .developer, actor: actor, source: nil)
            }
            await #expect(throws: ConsoleError.lastOwner) { try await accounts.disableTeamMember(owner.id, merchant: shop.id, actor: actor, source: nil) }
            // ... until another member is an owner.
            try await accounts.changeTeamRole(developer.id, merchant: shop.id, to: .owner, actor: actor, source: nil)
            try await accounts.changeTeamRole(owner.id, merchant: shop.id, to: .viewOnly, actor: actor, source: nil)
            _ = try await services.sessions.start(.dashboard, stage: .active, userID: owner.id)
            try await accounts.disableTeamMember(owner.id, merchant: shop.id, actor: actor, source: nil)
            #expect(try await accounts.find(id: owner.id)?.status == .disabled)
            #expect(
                try await test.gateway.database.withConnection { db in
                    try await db.select().column("user_id").from("console_sessions").where("user_id", .equal, owner.id).all().isEmpty
                }, "signed out everywhere")
            await #expect(throws: ConsoleError.lastOwner) { try await accounts.disableTeamMember(developer.id, merchant: shop.id, actor: actor, source: nil) }

            try await test.gateway.ledger.sequenceAll()
            let entries = try await test.gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry).filter { $0.action.hasPrefix("dashboard.user.") }
            #expect(
                entries.map(\.action) == [
                    "dashboard.user.role_changed", "dashboard.user.role_changed", "dashboard.user.role_changed", "dashboard.user.disabled",
                ])
            #expect(entries.allSatisfy { $0.objects["merchant"] == shop.id.rawValue && $0.actor == actor })
            #expect(entries.first?.objects["from"] == "developer" && entries.first?.objects["to"] == "analyst" && entries.first?.source == "10.0.0.1")
        }
    }

    @Test(
        "over HTTP: an owner changes a member's role; another merchant's member and a made-up id answer 404, their own account a message",
        arguments: [TestBackend.sqlite])
    func pages(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let (shop, other) = (try await test.merchant("Shop"), try await test.merchant("Other"))
            let owner = try await Self.member(services, test, "owner@shop.example", .owner, of: shop.id)
            let developer = try await Self.member(services, test, "dev@shop.example", .developer, of: shop.id)
            let stranger = try await Self.member(services, test, "owner@other.example", .owner, of: other.id)
            let (token, session) = try await services.sessions.start(.dashboard, stage: .active, userID: owner.id)
            let app = Application(router: buildRouter(test.gateway), logger: test.logs.logger())
            try await app.test(.router) { client in
                func post(_ path: String, _ body: String) async throws -> (Int, String) {
                    try await client.execute(
                        uri: path, method: .post,
                        headers: [.cookie: "kessai_dashboard=\(token)", .contentType: "application/x-www-form-urlencoded"],
                        body: ByteBuffer(string: "csrf=\(session.csrf)&\(body)")
                    ) { (Int($0.status.code), String(buffer: $0.body)) }
                }
                let changed = try await post("/dashboard/team/\(developer.id)/role", "role=analyst")
                #expect(changed.0 == 200 && changed.1.contains("id=\"notice\""))
                #expect(try await services.accounts.find(id: developer.id)?.role == .analyst)
                #expect(try await post("/dashboard/team/\(stranger.id)/role", "role=view_only").0 == 404)
                #expect(try await post("/dashboard/team/\(stranger.id)/disable", "").0 == 404)
                #expect(try await post("/dashboard/team/usr_madeup/disable", "").0 == 404)
                let own = try await post("/dashboard/team/\(owner.id)/disable", "")
                #expect(own.0 == 200 && own.1.contains("id=\"error\""))
                let badRole = try await post("/dashboard/team/\(developer.id)/role", "role=admin")
                #expect(badRole.0 == 200 && badRole.1.contains("id=\"error\""))
                #expect(try await services.accounts.find(id: stranger.id)?.status == .active)
            }
        }
    }
}
