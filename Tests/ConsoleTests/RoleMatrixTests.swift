import Foundation
import HTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KessaiTestSupport
import NIOCore
import Testing

@testable import Console

@Suite("Roles: every console and dashboard route, for every role, is allowed or 403 exactly as the matrix says")
struct RoleMatrixTests {
    @Test("route × role", arguments: TestBackend.available)
    func matrix(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let services = try test.gateway.consoleServices()
            let shop = try await test.merchant()
            // One signed-in session per role.
            var sessions: [ConsoleRole: (cookie: String, csrf: String)] = [:]
            for role in ConsoleRole.allCases {
                let (user, _) = try await services.accounts.invite(
                    role.app, email: "\(role.rawValue.replacingOccurrences(of: "_", with: ""))@example.com", role: role,
                    merchant: role.app == .dashboard ? shop.id : nil, actor: .system("test"))
                let secret = try await services.accounts.setPassword(user, password: "blue kettle 1984", confirmation: "blue kettle 1984", source: nil)
                _ = try await services.accounts.completeEnrollment(user, code: OneTimeCodes.code(secret: secret, at: test.clock.now()), source: nil)
                let (token, session) = try await services.sessions.start(role.app, stage: .active, userID: user.id)
                sessions[role] = ("kessai_\(role.app.rawValue)=\(token)", session.csrf)
            }
            let signedIn = sessions
            let app = Application(router: buildRouter(test.gateway), logger: test.logs.logger())
            try await app.test(.router) { client in
                let tables: [(ConsoleApp, [(method: String, path: String, permission: Permission?)])] = [
                    (.console, OperatorPages.routes), (.dashboard, DashboardPages.routes),
                ]
                for (appKind, routes) in tables {
                    for route in routes {
                        let path = "\(appKind.basePath)/\(route.path.replacingOccurrences(of: ":id", with: "x_unknown"))"
                            .replacingOccurrences(of: "/$", with: "", options: .regularExpression)
                        for role in ConsoleRole.allCases {
                            let (cookie, csrf) = signedIn[role]!
                            let method: HTTPRequest.Method = route.method == "GET" ? .get : .post
                            let status = try await client.execute(
                                uri: path.isEmpty ? appKind.basePath : path, method: method,
                                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                body: method == .post ? ByteBuffer(string: "csrf=\(csrf)") : nil
                            ) { Int($0.status.code) }
                            let label = "\(route.method) \(path) as \(role.rawValue)"
                            if role.app != appKind {
                                #expect(status == 303, "\(label): another application's account is not signed in here")
                            } else if let permission = route.permission, !role.permissions.contains(permission) {
                                #expect(status == 403, "\(label)")
                            } else {
                                #expect(status != 403 && status < 500 && status != 303, "\(label): \(status)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("no session, an idle one, and a form without its CSRF token: sign-in page, sign-in page, 403", arguments: [TestBackend.sqlite])
    func sessions(backend: TestBackend) async throws {
        try await TestGateway.with(backend, configure: { $0.consoleIdleTimeout = 60 }) { test in
            let services = try test.gateway.consoleServices()
            let (user, _) = try await services.accounts.invite(.console, email: "a@example.com", role: .admin, merchant: nil, actor: .system("test"))
            let secret = try await services.accounts.setPassword(user, password: "blue kettle 1984", confirmation: "blue kettle 1984", source: nil)
            _ = try await services.accounts.completeEnrollment(user, code: OneTimeCodes.code(secret: secret, at: test.clock.now()), source: nil)
            let (token, _) = try await services.sessions.start(.console, stage: .active, userID: user.id)
            let app = Application(router: buildRouter(test.gateway), logger: test.logs.logger())
            try await app.test(.router) { client in
                func get(_ cookie: String?) async throws -> (Int, String?) {
                    var headers: HTTPFields = [:]
                    if let cookie { headers[.cookie] = cookie }
                    return try await client.execute(uri: "/console/merchants", method: .get, headers: headers) { (Int($0.status.code), $0.headers[.location]) }
                }
                #expect(try await get(nil) == (303, "/console/login"))
                #expect(try await get("kessai_console=\(token)").0 == 200)
                let withoutToken = try await client.execute(
                    uri: "/console/merchants", method: .post, headers: [.cookie: "kessai_console=\(token)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "name=Evil")
                ) { Int($0.status.code) }
                #expect(withoutToken == 403)
                #expect(try await test.gateway.merchants.list().allSatisfy { $0.merchant.name != "Evil" })
                test.clock.advance(by: 61)
                #expect(try await get("kessai_console=\(token)") == (303, "/console/login"), "idle for longer than the timeout")
            }
        }
    }
}
