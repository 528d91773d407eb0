import Hummingbird
import KessaiCore
import NIOCore

/// Looks at every request's path, query and (for forms of a known, small length) body for
/// attack signatures (``ProbeSignatures``) and records each as a `probe_detected` security event
/// through ``Refusals`` (bounded per source). Nothing is refused here: validation answers as
/// always; the sentinel turns repeated probes into an incident. Sign-in forms' bodies are not
/// examined (a password may hold anything).
struct ProbeDetector: RouterMiddleware {
    typealias Context = KessaiRequestContext
    let refusals: Refusals
    let maximumBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        var found: (ProbeSignatures.Kind, String)? = nil
        if let kind = ProbeSignatures.match(request.uri.path) {
            found = (kind, "path")
        } else if let query = request.uri.query, let kind = Self.scan(query) {
            found = (kind, "query")
        } else if request.method == .post, !request.uri.path.hasPrefix("/console"), !request.uri.path.hasPrefix("/dashboard"),
            let length = request.headers[.contentLength].flatMap(Int.init), length > 0, length <= maximumBodyBytes,
            request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        {
            let buffer = try await request.collectBody(upTo: maximumBodyBytes)
            if let kind = Self.scan(String(buffer: buffer)) { found = (kind, "body") }
        }
        if let (kind, place) = found {
            await refusals.probe(kind.rawValue, place: place, path: request.uri.path, context: context)
        }
        return try await next(request, context)
    }

    /// Each `name=value` pair of a form or query on its own (so one pair's quote and another's
    /// `and` are not read together).
    static func scan(_ form: String) -> ProbeSignatures.Kind? {
        for pair in form.split(separator: "&").prefix(200) {
            if let kind = ProbeSignatures.match(pair) { return kind }
        }
        return nil
    }
}
