import Foundation
import Hummingbird
import HummingbirdTesting
import KessaiTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import HTTP

/// The audit's finding 2: a client that sends half a request must not hold its connection.
@Suite("Idle and body deadlines close half-sent requests while normal ones go on")
struct ConnectionLimitTests {
    /// Opens a raw connection, sends `bytes` and then one more byte of `drip` every `every`,
    /// and returns how long until the server closed it (nil when still open after `wait`).
    static func closedAfter(
        port: Int, sending bytes: String, drip: String = "", every: Duration = .milliseconds(400), wait: Duration
    ) async throws
        -> Duration?
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        let started = ContinuousClock.now
        try await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        let closed: Duration? = await withTaskGroup(of: Duration?.self) { group in
            group.addTask {
                try? await channel.closeFuture.get()
                return ContinuousClock.now - started
            }
            group.addTask {
                for byte in drip {
                    try? await Task.sleep(for: every)
                    // A write to a connection the server closed fails; the close is what is measured.
                    try? await channel.writeAndFlush(ByteBuffer(string: String(byte))).get()
                }
                try? await Task.sleep(for: wait)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        try? await channel.close()
        return closed
    }

    @Test("a half-sent head is closed after the idle timeout, a body dripping in faster than that after the body timeout; /health answers meanwhile")
    func halfSentRequests() async throws {
        try await TestGateway.with(
            .sqlite,
            configure: {
                $0.idleTimeout = 1
                $0.bodyTimeout = 2
            }
        ) { test in
            let shop = try await test.merchant()
            var configuration = test.gateway.configuration
            configuration.port = 0
            let app = Application(
                router: buildRouter(test.gateway), server: ConnectionLimits.server(configuration),
                configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: test.logs.logger())
            try await app.test(.live) { client in
                let port = try #require(client.port)
                async let head = Self.closedAfter(port: port, sending: "GET /health HTTP/1.1\r\nHost: x\r\nX-a: ", wait: .seconds(6))
                async let body = Self.closedAfter(
                    port: port,
                    sending: "POST /v1/payment_intents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(shop.secret)\r\nContent-Length: 100\r\n"
                        + "Content-Type: application/x-www-form-urlencoded\r\n\r\namount=1",
                    drip: String(repeating: "0", count: 20), wait: .seconds(2))
                // While both are held open, a normal request is answered.
                let health = try await client.execute(uri: "/health", method: .get) { Int($0.status.code) }
                #expect(health == 200)
                let headClosed = try #require(try await head, "a half-sent head must be closed")
                #expect(headClosed >= .milliseconds(900) && headClosed < .seconds(4), "\(headClosed)")
                let bodyClosed = try #require(try await body, "a body that never ends must be closed")
                #expect(bodyClosed >= .milliseconds(1900) && bodyClosed < .seconds(5), "\(bodyClosed)")
                // (The test client's own kept-alive connection has been idle too long by now, and is closed as well.)
            }
        }
    }
}
