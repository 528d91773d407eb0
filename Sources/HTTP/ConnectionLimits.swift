import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How long a client may hold a connection without finishing what it sends, and how many
/// connections a process serves at once, so that a few slow clients cannot take every socket.
///
/// - A connection that sends nothing complete — no request head, or nothing after its last
///   response — for ``GatewayConfiguration/idleTimeout`` is closed (Hummingbird's idle timeout,
///   which a half-sent head does not reset).
/// - A request whose body has not ended ``GatewayConfiguration/bodyTimeout`` after its head is
///   closed (``RequestBodyDeadline``), however slowly the bytes drip in.
/// - At most ``GatewayConfiguration/maximumConnections`` are served at once; the kernel's listen
///   backlog holds the rest.
enum ConnectionLimits {
    /// The HTTP/1.1 server with the idle timeout and the body deadline.
    static func server(_ configuration: GatewayConfiguration) -> HTTPServerBuilder {
        let body = TimeAmount.milliseconds(Int64(configuration.bodyTimeout * 1000))
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestBodyDeadline(timeout: body)],
                idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000))))
    }

    /// The listener: address, server name and the connection cap.
    static func application(_ configuration: GatewayConfiguration) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "kessai",
            availableConnectionsDelegate: MaximumAvailableConnections(max(configuration.maximumConnections, 1)))
    }
}

/// Closes a connection whose request body has not ended within `timeout` of its head.
final class RequestBodyDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
