public import Logging
import OTel
public import ServiceLifecycle

/// Traces over OTLP/HTTP (swift-otel), off unless an endpoint is given (`--otel-endpoint`,
/// `KESSAI_OTEL_ENDPOINT`). Only traces: metrics are Prometheus' (``PrometheusMetrics``) and
/// logs stay on standard error.
public enum KessaiTracing {
    /// Bootstraps the tracer; once per process.
    /// - Parameters:
    ///   - endpoint: the collector's base URL (`http://collector:4318`); spans go to
    ///     `<endpoint>/v1/traces` unless the URL already ends so.
    ///   - environment: the process environment; swift-otel's own `OTEL_*` variables (headers,
    ///     sampler, batch delay, `OTEL_SERVICE_NAME` …) refine the configuration, except
    ///     `OTEL_SDK_DISABLED`, which cannot turn on the metrics or logs exporters here.
    ///   - logger: where swift-otel's diagnostics go.
    /// - Returns: the exporter's service, to run with the application (it flushes at shutdown).
    /// - Throws: swift-otel's configuration error.
    public static func bootstrap(endpoint: String, environment: [String: String], logger: Logger) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "kessai"
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = tracesURL(endpoint)
        let otel = environment.filter { $0.key.hasPrefix("OTEL_") && $0.key != "OTEL_SDK_DISABLED" }
        return try OTel.bootstrap(configuration: configuration, environment: otel)
    }

    /// `<base>/v1/traces`, the OTLP/HTTP path, unless the URL already names it.
    static func tracesURL(_ endpoint: String) -> String {
        var base = endpoint
        if base.hasSuffix("/v1/traces") { return base }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/traces"
    }
}
