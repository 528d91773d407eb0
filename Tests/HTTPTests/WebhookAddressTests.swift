import AsyncHTTPClient
import KessaiCore
import KessaiTestSupport
import NIOCore
import NIOPosix
import SQLKit
import Synchronization
import Testing

@testable import HTTP
@testable import Payments
@testable import Webhooks

@Suite("Webhook addresses: in production a webhook goes only to the public internet, never into Kessai's own network")
struct WebhookAddressTests {
    @Test("loopback, private, link-local, CGNAT, multicast, documentation and IPv4-in-IPv6 forms of them are not public")
    func classification() throws {
        let refused = [
            "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1", "203.0.113.5", "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1",
            "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "::127.0.0.1",
            // IPv4-translated, local-use NAT64, 6to4 of a private address, Teredo (the audit's finding 7).
            "::ffff:0:127.0.0.1", "::ffff:0:7f00:1", "64:ff9b:1::7f00:1", "64:ff9b:1::808:808", "2002:7f00:1::1", "2002:c0a8:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ]
        let allowed = [
            "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "::ffff:0:8.8.8.8",
            "2002:808:808::1",
        ]
        for address in refused {
            #expect(!WebhookAddress.isPublic(try SocketAddress(ipAddress: address, port: 443)), "\(address)")
        }
        for address in allowed {
            #expect(WebhookAddress.isPublic(try SocketAddress(ipAddress: address, port: 443)), "\(address)")
        }
        for host in ["localhost", "LOCALHOST.", "api.localhost", "127.0.0.1", "[::1]", "169.254.169.254"] {
            #expect(WebhookAddress.isRefusedOutright(host), "\(host)")
        }
        for host in ["shop.example", "8.8.8.8", "[2606:4700:4700::1111]"] {
            #expect(!WebhookAddress.isRefusedOutright(host), "\(host)")
        }
    }

    @Test("a name is judged by every address it resolves to")
    func resolution() async throws {
        // localhost resolves (through /etc/hosts) to loopback only.
        let addresses = try await WebhookAddress.resolve("localhost", port: 443)
        #expect(!addresses.isEmpty)
        #expect(!addresses.contains(where: WebhookAddress.isPublic))
        await #expect(throws: WebhookAddress.Refused.self) { _ = try await WebhookAddress.checked("127.0.0.1", port: 443) }
        // Numeric forms of loopback (inet_aton's) are refused once resolved, whatever registration saw.
        for host in ["2130706433", "0x7f.1", "127.1"] {
            await #expect(throws: WebhookAddress.Refused.self, "\(host)") { _ = try await WebhookAddress.checked(host, port: 443) }
        }
        #expect(try await WebhookAddress.checked("8.8.8.8", port: 443) == "8.8.8.8")
    }

    @Test("registering an endpoint at a non-public address is a 400 url_invalid when only public addresses are allowed")
    func registration() async throws {
        try await TestGateway.with(.sqlite, configure: { $0.webhookPublicAddressesOnly = true }) { test in
            let shop = try await test.merchant()
            try await test.api { api in
                for url in [
                    "http://127.0.0.1:9/hook", "https://169.254.169.254/latest/meta-data/", "https://[::1]/hook", "https://localhost/hook",
                    "https://10.1.2.3/hook", "https://[::ffff:192.168.0.1]/hook", "https://[64:ff9b:1::7f00:1]:9443/",
                    "https://[::ffff:0:127.0.0.1]:9443/", "https://[2002:7f00:1::1]/hook",
                ] {
                    let reply = try await api.post("/v1/webhook_endpoints", key: shop.secret, form: [("url", url), ("enabled_events[]", "*")])
                    #expect(reply.status == 400, "\(url)")
                    #expect(reply.error["code"] as? String == "url_invalid", "\(url)")
                }
                let reply = try await api.post(
                    "/v1/webhook_endpoints", key: shop.secret, form: [("url", "https://shop.example/hook"), ("enabled_events[]", "*")])
                #expect(reply.status == 200)
            }
            #expect(try await test.count("webhook_endpoints") == 1)
        }
    }

    @Test("a delivery to an endpoint whose host is not public is refused before any connection, and recorded", arguments: TestBackend.available)
    func deliveryRefused(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let shop = try await test.merchant()
            let connections = Atomic<Int>(0)
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { child in
                    connections.add(1, ordering: .relaxed)
                    return child.close()
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(listener.localAddress?.port)
            // Stored as it would be if its name had resolved publicly when it was registered.
            _ = try await test.gateway.webhookEndpoints.create(
                merchant: shop.id, livemode: false, url: "http://127.0.0.1:\(port)/hook", events: ["*"], description: nil)
            let recorder = EventRecorder(publicURL: "http://127.0.0.1", clock: test.gateway.clock)
            func deliver(publicOnly: Bool) async throws -> Int {
                try await test.gateway.database.transaction { db in
                    try await recorder.record(
                        .paymentIntentCreated, merchant: shop.id, livemode: false, objectID: "pi_test", object: .object([("id", "pi_test")]), on: db)
                }
                let sender = LiveWebhookSender(publicAddressesOnly: publicOnly)
                let service = WebhookDeliveryService(
                    database: test.gateway.database, endpoints: test.gateway.webhookEndpoints, sender: sender, clock: test.gateway.clock,
                    logger: test.logs.logger(), retryBase: 60)
                let sent = try await service.deliverDue()
                await sender.shutdown()
                return sent
            }
            #expect(try await deliver(publicOnly: true) == 1)
            #expect(connections.load(ordering: .relaxed) == 0)
            let errors = try await test.gateway.database.withConnection { db in
                try await db.select().column("error").from("webhook_attempts").all().map { try $0.decode(column: "error", as: String?.self) }
            }
            #expect(errors.count == 1)
            #expect(errors.first??.hasPrefix("refused: ") == true, "\(errors)")
            // The same endpoint without the restriction is reached: the check above is what stopped it.
            test.clock.advance(by: 3600)
            #expect(try await deliver(publicOnly: false) >= 1)
            #expect(connections.load(ordering: .relaxed) >= 1)
            try await listener.close()
        }
    }
}
