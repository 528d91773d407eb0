import Metrics

/// Kessai's metrics: their names, and one function per thing measured, so that every target
/// (HTTP, Payments, Vault, Webhooks) records them the same way through swift-metrics. Until a
/// backend is bootstrapped (``/metrics`` does it, Prometheus) every call is a no-op.
///
/// No label can carry card data: every label value is taken from a closed list here, and
/// anything else is recorded as `other`. Route labels come from the router's templates only.
public enum KessaiMetrics {
    /// Metric names, following Prometheus conventions (`_total` counters, `_seconds` histograms).
    public enum Name {
        public static let httpRequests = "kessai_http_requests_total"
        public static let httpRequestDuration = "kessai_http_request_duration_seconds"
        public static let payments = "kessai_payments_total"
        public static let acquirerRequestDuration = "kessai_acquirer_request_duration_seconds"
        public static let ledgerEntries = "kessai_ledger_entries"
        public static let ledgerPendingEntries = "kessai_ledger_pending_entries"
        public static let vaultDecrypts = "kessai_vault_decrypts_total"
        public static let webhookDeliveries = "kessai_webhook_deliveries_total"
        public static let webhookQueueDepth = "kessai_webhook_queue_depth"
        public static let sentinelEvents = "kessai_sentinel_events_total"
        public static let incidentsOpen = "kessai_incidents_open"
        public static let ledgerLastVerified = "kessai_ledger_last_verification_timestamp_seconds"
        public static let ledgerVerificationFindings = "kessai_ledger_last_verification_findings"
    }

    /// The payment methods counted; anything else is `other`.
    public static let paymentMethods: Set<String> = ["card", "konbini", "payeasy", "emoney"]
    /// Payment outcomes: the intent's status after the step (`requires_payment_method` after a
    /// refusal is `declined`), `pending` when the acquirer's answer is not known yet, `expired`
    /// when a cash payment's deadline passed.
    public static let paymentOutcomes: Set<String> = [
        "succeeded", "requires_capture", "requires_action", "declined", "pending", "canceled", "expired",
    ]
    /// Acquirer operations (``acquirerCall(operation:succeeded:duration:)``).
    public static let acquirerOperations: Set<String> = ["authorize", "authentication", "capture", "void", "refund", "lookup"]
    /// Webhook delivery outcomes (``webhookDelivered(outcome:)``).
    public static let webhookOutcomes: Set<String> = ["delivered", "failed", "refused", "abandoned"]
    /// The ledger's actor kinds, for vault decrypts.
    public static let actorKinds: Set<String> = ["merchant_key", "operator", "system", "anonymous"]
    /// HTTP methods as labels; anything else is `OTHER`.
    public static let httpMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// The value when it is in the closed list, otherwise `other`.
    @inlinable
    public static func label(_ value: String, in allowed: Set<String>) -> String {
        allowed.contains(value) ? value : "other"
    }

    /// One HTTP request answered.
    /// - Parameters:
    ///   - route: the router's template (`/v1/payment_intents/{id}`), or `unmatched`; never the raw path.
    ///   - method: the request's method.
    ///   - status: the response's status code.
    ///   - duration: the time from the request's head to its response.
    public static func httpRequest(route: String, method: String, status: Int, duration: Duration) {
        HTTPRequestHandles(route: route, method: method, status: status).record(duration)
    }

    /// The counter and the timer of one route, method and status: made once and kept by a
    /// caller that answers many requests, they save the registry's lookup on each.
    public struct HTTPRequestHandles: Sendable {
        let count: Counter
        let duration: Timer

        /// - Parameters:
        ///   - route: the router's template, or `unmatched`; never the raw path.
        ///   - method: the request's method (anything unusual is `OTHER`).
        ///   - status: the response's status code.
        public init(route: String, method: String, status: Int) {
            let dimensions = [
                ("route", route), ("method", httpMethods.contains(method) ? method : "OTHER"), ("status", String(status)),
            ]
            count = Counter(label: Name.httpRequests, dimensions: dimensions)
            duration = Timer(label: Name.httpRequestDuration, dimensions: dimensions)
        }

        /// Counts one request that took `duration`.
        public func record(_ duration: Duration) {
            count.increment()
            self.duration.record(duration: duration)
        }
    }

    /// A payment reached an outcome.
    /// - Parameters:
    ///   - method: `card`, `konbini`, `payeasy` or `emoney`.
    ///   - outcome: one of ``paymentOutcomes``; `requires_payment_method` counts as `declined`,
    ///     `processing` as `pending`.
    public static func payment(method: String, outcome: String) {
        let outcome =
            switch outcome {
            case "requires_payment_method": "declined"
            case "processing": "pending"
            default: outcome
            }
        Counter(
            label: Name.payments, dimensions: [("method", label(method, in: paymentMethods)), ("outcome", label(outcome, in: paymentOutcomes))]
        ).increment()
    }

    /// One call to the acquirer, timed.
    /// - Parameters:
    ///   - operation: one of ``acquirerOperations``.
    ///   - succeeded: whether the acquirer answered (a decline is an answer); `false` when the
    ///     call failed and its outcome is unknown.
    ///   - duration: how long the call took.
    public static func acquirerCall(operation: String, succeeded: Bool, duration: Duration) {
        Timer(
            label: Name.acquirerRequestDuration,
            dimensions: [("operation", label(operation, in: acquirerOperations)), ("outcome", succeeded ? "answered" : "error")]
        ).record(duration: duration)
    }

    /// The ledger's sequenced size and the entries still waiting for the sequencer.
    public static func ledger(size: Int, pending: Int) {
        Gauge(label: Name.ledgerEntries).record(size)
        Gauge(label: Name.ledgerPendingEntries).record(pending)
    }

    /// A verification of the whole ledger finished (in this process): when, and how many
    /// findings it had (0: verified). Alert when the time is older than two intervals or the
    /// findings are above 0; with several processes, take the newest time over them.
    public static func ledgerVerified(at seconds: Int64, findings: Int) {
        Gauge(label: Name.ledgerLastVerified).record(seconds)
        Gauge(label: Name.ledgerVerificationFindings).record(findings)
    }

    /// One card decrypted by the vault (one `vault.decrypt` ledger entry).
    /// - Parameter actorKind: the ledger actor's kind (`merchant_key`, `operator`, `system`, `anonymous`).
    public static func vaultDecrypt(actorKind: String) {
        Counter(label: Name.vaultDecrypts, dimensions: [("actor_kind", label(actorKind, in: actorKinds))]).increment()
    }

    /// One webhook delivery attempt finished.
    /// - Parameter outcome: `delivered` (2xx), `failed` (another answer or no answer; retried),
    ///   `refused` (the address is not allowed), `abandoned` (no retry left).
    public static func webhookDelivered(outcome: String) {
        Counter(label: Name.webhookDeliveries, dimensions: [("outcome", label(outcome, in: webhookOutcomes))]).increment()
    }

    /// Deliveries due or waiting for a retry, as last counted.
    public static func webhookQueueDepth(_ depth: Int) {
        Gauge(label: Name.webhookQueueDepth).record(depth)
    }

    /// The sentinel's severities.
    public static let severities: Set<String> = ["low", "medium", "high"]

    /// Events the sentinel counted toward an incident, by the rule (a closed list of names from
    /// the sentinel's rules; anything else is `other`) and severity.
    public static func sentinelEvents(kind: String, severity: String, count: Int) {
        Counter(
            label: Name.sentinelEvents,
            dimensions: [
                ("kind", kind.count <= 40 && kind.allSatisfy { $0.isLetter || $0 == "_" } ? kind : "other"), ("severity", label(severity, in: severities)),
            ]
        )
        .increment(by: max(0, count))
    }

    /// Incidents not resolved, by severity.
    public static func openIncidents(_ counts: [String: Int]) {
        for severity in severities.sorted() {
            Gauge(label: Name.incidentsOpen, dimensions: [("severity", severity)]).record(counts[severity] ?? 0)
        }
    }
}
