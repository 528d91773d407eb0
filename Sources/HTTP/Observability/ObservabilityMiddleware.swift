import Hummingbird
import KessaiCore
import Synchronization
import Tracing

/// The outermost middleware: one server span per request and the request metrics
/// (`kessai_http_requests_total`, `kessai_http_request_duration_seconds`).
///
/// Both name the route by the router's template (`/v1/payment_intents/{id}`, or `unmatched`),
/// never by the raw path or query, and the span's attributes are only the method, the route,
/// the status and the request id (`req_…`): no header, parameter or body ever reaches them.
/// Without a tracer (no `--otel-endpoint`) no span is made at all; with metrics off the
/// counters are swift-metrics' no-ops.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = KessaiRequestContext

    /// Whether a tracer was bootstrapped before the router was built (``KessaiTracing``).
    let tracing = !(InstrumentationSystem.tracer is NoOpTracer)
    let handles = RequestMetricHandles()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        guard tracing else {
            do {
                let response = try await next(request, context)
                record(context, method: method, status: Int(response.status.code), started: started)
                return response
            } catch {
                record(context, method: method, status: Self.status(of: error), started: started)
                throw error
            }
        }
        let span = startSpan("HTTP \(method)", ofKind: .server)
        span.attributes["http.request.method"] = method
        span.attributes["kessai.request_id"] = context.requestID.rawValue
        defer { span.end() }
        do {
            let response = try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
            finish(span, context: context, method: method, status: Int(response.status.code), started: started)
            return response
        } catch {
            // Not recorded on the span: an error's text is not ours to export.
            finish(span, context: context, method: method, status: Self.status(of: error), started: started)
            throw error
        }
    }

    private static func status(of error: any Error) -> Int {
        Int((error as? any HTTPResponseError)?.status.code ?? 500)
    }

    private func finish(_ span: any Span, context: Context, method: String, status: Int, started: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unmatched"
        span.operationName = "\(method) \(route)"
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        record(context, method: method, status: status, started: started)
    }

    private func record(_ context: Context, method: String, status: Int, started: ContinuousClock.Instant) {
        handles.handles(route: context.endpointPath ?? "unmatched", method: method, status: status).record(ContinuousClock.now - started)
    }
}

/// The request metrics' handles by route, method and status, made on first use. One per
/// router: its handles belong to the metrics backend bootstrapped when the router was built.
final class RequestMetricHandles: Sendable {
    struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    /// Routes are templates and statuses few, so this stays small; the bound is a safeguard.
    static let limit = 4_096
    private let known = Mutex<[Key: KessaiMetrics.HTTPRequestHandles]>([:])

    func handles(route: String, method: String, status: Int) -> KessaiMetrics.HTTPRequestHandles {
        let key = Key(route: route, method: method, status: status)
        if let found = known.withLock({ $0[key] }) { return found }
        let made = KessaiMetrics.HTTPRequestHandles(route: route, method: method, status: status)
        known.withLock { if $0.count < Self.limit { $0[key] = made } }
        return made
    }
}
