import Acquiring
import KessaiCore
import Tracing

extension CardPayments {
    /// Makes one call to the acquirer inside a client span (`acquirer.<operation>`, a child of
    /// the request's span) and times it in `kessai_acquirer_request_duration_seconds`.
    ///
    /// The span carries only the operation, the acquirer's name and the attempt id: never the
    /// request, the card or the error's text (an acquirer's error could quote what it was sent).
    /// With tracing off the span is a no-op.
    /// - Parameters:
    ///   - operation: one of ``KessaiCore/KessaiMetrics/acquirerOperations``.
    ///   - attempt: the attempt the call is for.
    ///   - call: the connector call.
    /// - Returns: what the connector answered.
    /// - Throws: what the connector threw, unchanged.
    func acquirerCall<T>(_ operation: String, attempt: AttemptID, _ call: () async throws -> T) async throws -> T {
        let span = startSpan("acquirer.\(operation)", ofKind: .client)
        span.attributes["kessai.acquirer"] = acquirer.name
        span.attributes["kessai.acquirer.operation"] = operation
        span.attributes["kessai.attempt"] = attempt.rawValue
        defer { span.end() }
        let started = ContinuousClock.now
        do {
            let answer = try await call()
            KessaiMetrics.acquirerCall(operation: operation, succeeded: true, duration: ContinuousClock.now - started)
            return answer
        } catch {
            KessaiMetrics.acquirerCall(operation: operation, succeeded: false, duration: ContinuousClock.now - started)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}
