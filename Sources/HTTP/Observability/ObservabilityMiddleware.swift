import Hummingbird
import KessaiCore
import Tracing

/// The outermost middleware: one server span per request and the request metrics
/// (`kessai_http_requests_total`, `kessai_http_request_duration_seconds`).
///
/// Both name the route by the router's template (`/v1/payment_intents/{id}`, or `unmatched`),
/// never by the raw path or query, and the span's attributes are only the method, the route,
/// the status and the request id (`req_…`): no header, parameter or body ever reaches them.
/// With tracing off the span is a no-op; with metrics off the counters are.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = KessaiRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        let span = startSpan("HTTP \(method)", ofKind: .server)
        span.attributes["http.request.method"] = method
        span.attributes["kessai.request_id"] = context.requestID.rawValue
        defer { span.end() }
        let status: Int
        do {
            let response = try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
            status = Int(response.status.code)
            finish(span, context: context, method: method, status: status, started: started)
            return response
        } catch {
            // Not recorded on the span: an error's text is not ours to export.
            status = Int((error as? any HTTPResponseError)?.status.code ?? 500)
            finish(span, context: context, method: method, status: status, started: started)
            throw error
        }
    }

    private func finish(_ span: any Span, context: Context, method: String, status: Int, started: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unmatched"
        span.operationName = "\(method) \(route)"
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        KessaiMetrics.httpRequest(route: route, method: method, status: status, duration: ContinuousClock.now - started)
    }
}
