import AsyncHTTPClient
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One signed webhook request, ready to go.
public struct OutgoingWebhook: Sendable, Equatable {
    public let url: String
    public let body: String
    /// The `Kessai-Signature` header's value.
    public let signature: String

    public init(url: String, body: String, signature: String) {
        self.url = url
        self.body = body
        self.signature = signature
    }
}

/// Where webhook requests leave Kessai: the seam between the delivery schedule and the network.
public protocol WebhookSender: Sendable {
    /// Sends one attempt.
    /// - Returns: the HTTP status the endpoint answered.
    /// - Throws: ``WebhookAddress/Refused`` when the address may not be reached; any transport
    ///   error (a failed attempt, retried on the delivery schedule).
    func send(_ webhook: OutgoingWebhook) async throws -> Int

    /// Releases what the sender holds (connections), once the delivery service stops.
    func shutdown() async
}

/// Sends over the network with AsyncHTTPClient: no redirects, 5 s to connect, 10 s to answer.
/// With `publicAddressesOnly`, each request goes to the public address its host resolves to,
/// checked (``WebhookAddress/checked(_:port:)``), through a client pinned to that address so a
/// DNS answer cannot change in between; TLS still verifies the certificate for the host's name.
public final class LiveWebhookSender: WebhookSender {
    let client: HTTPClient
    let publicAddressesOnly: Bool

    public init(publicAddressesOnly: Bool) {
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: Self.configuration())
        self.publicAddressesOnly = publicAddressesOnly
    }

    public func send(_ webhook: OutgoingWebhook) async throws -> Int {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Kessai/1.0 (+webhooks)")
        request.headers.add(name: WebhookSignature.header, value: webhook.signature)
        request.body = .bytes(ByteBuffer(string: webhook.body))
        guard publicAddressesOnly else { return try await Self.send(request, client: client) }
        guard let parsed = URL(string: webhook.url), let host = parsed.host, let scheme = parsed.scheme?.lowercased() else {
            throw WebhookAddress.Refused(description: "the url has no host")
        }
        let address = try await WebhookAddress.checked(host, port: parsed.port ?? (scheme == "https" ? 443 : 80))
        var configuration = Self.configuration()
        configuration.dnsOverride = [host: address]
        let pinned = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let code = try await Self.send(request, client: pinned)
            try? await pinned.shutdown()
            return code
        } catch {
            try? await pinned.shutdown()
            throw error
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// A request's status code (the body is read, up to 4 KiB, and dropped).
    static func send(_ request: HTTPClientRequest, client: HTTPClient) async throws -> Int {
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try? await response.body.collect(upTo: 4096)
        return Int(response.status.code)
    }

    /// No redirects (a redirect could lead anywhere), 5 s to connect, 10 s to answer.
    static func configuration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        // A refused connection is a failed attempt, retried on the delivery schedule, not in a
        // tight loop inside one attempt.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }
}

/// Keeps every webhook instead of sending it, and answers with a chosen status: for tests of
/// the delivery schedule without sockets.
public final class RecordingWebhookSender: WebhookSender {
    private let state: Mutex<(sent: [OutgoingWebhook], status: Int)>

    /// - Parameter status: what every send answers (change it with ``answer(with:)``).
    public init(status: Int = 200) {
        state = Mutex(([], status))
    }

    /// What was sent, in order.
    public var sent: [OutgoingWebhook] { state.withLock { $0.sent } }

    /// Makes later sends answer `status`.
    public func answer(with status: Int) { state.withLock { $0.status = status } }

    public func send(_ webhook: OutgoingWebhook) async throws -> Int {
        state.withLock { state in
            state.sent.append(webhook)
            return state.status
        }
    }

    public func shutdown() async {}
}
