import Hummingbird
import KessaiCore
import Ledger
import Metrics
import Operators
public import Prometheus

/// Who may read `GET /metrics` (`--metrics`, `KESSAI_METRICS`). Everyone else gets 404, as for
/// a path that does not exist.
public enum MetricsExposure: String, Sendable, CaseIterable {
    /// Peers on this host (127.0.0.0/8, ::1), or any peer with a valid operator token (`op_…`).
    case loopback
    /// Only a request with a valid operator token, whatever its address: for a reverse proxy on
    /// the same host, which makes every peer look local.
    case `operator`
    /// No endpoint, and no metrics are collected.
    case off
}

/// The process's Prometheus registry, behind swift-metrics.
public enum PrometheusMetrics {
    /// Every metric Kessai records, once bootstrapped.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped: Bool = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return true
    }()

    /// Makes swift-metrics record into ``registry``; once per process, later calls do nothing.
    public static func bootstrap() {
        _ = bootstrapped
    }

    /// The registry in Prometheus' text format (0.0.4).
    public static func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

/// `GET /metrics`, in Prometheus' text format, for the callers ``MetricsExposure`` allows.
struct MetricsController: Sendable {
    let exposure: MetricsExposure
    let gateway: Gateway

    func register(on router: Router<KessaiRequestContext>) {
        guard exposure != .off else { return }
        PrometheusMetrics.bootstrap()
        router.get("/metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        guard try await allowed(request, context: context) else { throw HTTPError(.notFound) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: PrometheusMetrics.exposition())))
    }

    /// Loopback peers when the exposure allows them; otherwise a valid operator token. A token
    /// that does not authenticate is recorded as a failed authentication, and answered 404 too.
    func allowed(_ request: Request, context: KessaiRequestContext) async throws -> Bool {
        if exposure == .loopback && Self.isLoopback(context.remoteAddress) { return true }
        guard let presented = Authenticator.presentedKey(request) else { return false }
        if try await gateway.operatorTokens.authenticate(presented) != nil { return true }
        try await gateway.failures.record(
            LedgerEntry(
                time: gateway.clock.now(), actor: LedgerActor(.anonymous, Authenticator.hint(presented)), action: "auth.failure",
                objects: ["endpoint": "metrics"], requestID: context.requestID.rawValue, source: context.remoteAddress,
                outcome: "invalid_operator_token"),
            subject: "op")
        return false
    }

    /// 127.0.0.0/8, `::1` and IPv4-mapped 127.x; a peer the server could not name is not local.
    static func isLoopback(_ address: String) -> Bool {
        let lowered = address.lowercased()
        if lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let v4 = lowered.hasPrefix("::ffff:") ? String(lowered.dropFirst(7)) : lowered
        let parts = v4.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
