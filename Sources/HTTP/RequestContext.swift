public import Hummingbird
public import KessaiCore
import NIOCore

/// The per-request context: Hummingbird's core storage, plus Kessai's request id and the
/// caller's address.
public struct KessaiRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `req_…`, echoed in the `Request-Id` header and in every log line of the request.
    public var requestID: KessaiCore.RequestID
    /// The peer's address, for security logs.
    public let remoteAddress: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = .random()
        self.remoteAddress = source.channel.remoteAddress.flatMap { $0.ipAddress } ?? "unknown"
    }

    /// Bodies are collected by ``ParameterReader`` under the API's own limit.
    public var maxUploadSize: Int { 64 * 1024 }
}
