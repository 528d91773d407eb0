import HTTPTypes
import Hummingbird
import KessaiCore

/// Answers 405 with an `Allow` header, in the API's error shape, when a request names a path the
/// router has but a method it does not (Hummingbird's router answers 404 for both).
///
/// Added last in `buildRouter`: a router's middleware wraps only the routes added after it, and
/// its not-found responder, which is where a wrong method ends up.
struct MethodNotAllowed: RouterMiddleware {
    typealias Context = KessaiRequestContext

    /// Each route's path split into segments (`nil` for a parameter), with its methods.
    let routes: [(segments: [Substring?], methods: [HTTPRequest.Method])]

    init(routes: [(path: String, method: HTTPRequest.Method)]) {
        var grouped: [(segments: [Substring?], methods: [HTTPRequest.Method])] = []
        for route in routes {
            let segments = route.path.split(separator: "/").map { $0.hasPrefix("{") || $0.hasPrefix(":") || $0 == "*" ? nil : $0 }
            if let index = grouped.firstIndex(where: { $0.segments == segments }) {
                if !grouped[index].methods.contains(route.method) { grouped[index].methods.append(route.method) }
            } else {
                grouped.append((segments, [route.method]))
            }
        }
        self.routes = grouped
    }

    /// Built from the router's routes as they are when it is called.
    init(router: Router<KessaiRequestContext>) {
        self.init(routes: router.routes.map { (path: $0.path.description, method: $0.method) })
    }

    /// The methods the router has for `path`, in a fixed order; empty when it has none.
    func allowed(_ path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where route.segments.count == parts.count {
            guard zip(route.segments, parts).allSatisfy({ segment, part in segment == nil || segment == part }) else { continue }
            for method in route.methods where !methods.contains(method) { methods.append(method) }
        }
        let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete]
        return methods.sorted { (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let methods = allowed(request.uri.path)
            guard !methods.isEmpty, !methods.contains(request.method) else { throw error }
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            var response = ErrorMapping.response(
                for: APIError(
                    kind: .invalidRequest, code: "method_not_allowed",
                    message: "\(request.method.rawValue) is not allowed on \(request.uri.path.prefix(200)); use \(allow).", status: 405))
            response.headers[.allow] = allow
            return response
        }
    }
}
