import HTTPTypes
import Hummingbird
import KessaiCore
import Logging
import Merchants
import NIOCore
import Payments
import Vault
import Webhooks

extension HTTPField.Name {
    static let requestID = HTTPField.Name("Request-Id")!
}

/// The one place where errors become HTTP responses in Stripe's error shape.
enum ErrorMapping {
    static func apiError(for error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let refusal as CardNumberInFreeText:
            return refusal.apiError
        case let refusal as PaymentsError:
            return apiError(refusal)
        case WebhooksError.unknownEvent(let id, let param):
            return .notFound("event", id: id, param: param)
        case let refusal as MerchantsError:
            return .invalid("name", refusal.message)
        case let illegal as IllegalTransition:
            // A race between two requests on one intent (the flows exclude the rest): the caller may retry.
            logger.warning("refused a PaymentIntent transition", metadata: ["from": .string(illegal.from.rawValue), "to": .string(illegal.to.rawValue)])
            return APIError(
                kind: .invalidRequest, code: "payment_intent_unexpected_state",
                message: "This PaymentIntent changed while the request ran (it is \(illegal.from.rawValue) now). Retrieve it and try again.", status: 409)
        case AuthenticationFailure.suspended:
            return APIError(
                kind: .permission, code: "account_suspended", message: "This account is suspended; contact your payment provider.", status: 403)
        case let failure as AuthenticationFailure:
            return failure == .revoked
                ? APIError(kind: .authentication, code: "api_key_expired", message: "The API key provided has been revoked or replaced.", status: 401)
                : APIError(kind: .authentication, code: nil, message: "Invalid API Key provided.", status: 401)
        case VaultError.notFound:
            return APIError(kind: .invalidRequest, code: "resource_missing", message: "No such card.", status: 404)
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return tooLarge
        case let error as any HTTPResponseError where error.status == .notFound:
            return APIError(kind: .invalidRequest, code: "resource_missing", message: "Unrecognized request URL.", status: 404)
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            return APIError(kind: .invalidRequest, code: nil, message: error.status.reasonPhrase, status: error.status.code)
        default:
            // Details go to the log (which never sees card data), not to the caller.
            logger.error("internal error", metadata: ["error": "\(String(describing: error).prefix(500))"])
            return APIError(kind: .api, code: nil, message: "An internal error occurred. Quote the Request-Id when asking for help.", status: 500)
        }
    }

    /// A payment flow's refusal in Stripe's terms: missing objects 404, a busy intent 409, a
    /// refused capture 402, the rest 400.
    static func apiError(_ refusal: PaymentsError) -> APIError {
        switch refusal {
        case .notFound(let object, let id, let param): .notFound(object, id: id, param: param)
        case .missing(let param): .missing(param)
        case .invalid(let param, let message, let code): .invalid(param, message, code: code)
        case .unexpectedState(let code, let message, let param): .unexpectedState(code, message, param: param)
        case .busy(let message): APIError(kind: .invalidRequest, code: "payment_intent_processing", message: message, status: 409)
        case .captureRefused(let code, _): APIError(kind: .card, code: code, message: refusal.message, status: 402)
        }
    }

    /// A declined card payment: Stripe's `card_error` (402) with the decline code and, attached,
    /// the intent as the caller may see it (`intentJSON`), its charge and its payment method.
    static func declined(_ declined: PaymentDeclined, intentJSON: JSONValue? = nil) -> APIError {
        var error = APIError(kind: .card, code: declined.error.code, message: declined.error.message, status: 402)
        error.declineCode = declined.error.declineCode
        var attachments: [(String, JSONValue)] = []
        if let charge = declined.intent.latestCharge { attachments.append(("charge", .string(charge.rawValue))) }
        if let intentJSON { attachments.append(("payment_intent", intentJSON)) }
        if let method = declined.error.paymentMethod {
            attachments.append(("payment_method", .object([("id", .string(method)), ("object", "payment_method"), ("type", "card")])))
        }
        error.attachments = attachments
        return error
    }

    static let tooLarge = APIError(kind: .invalidRequest, code: "request_too_large", message: "The request body is too large.", status: 413)

    static func body(for error: APIError) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("type", .string(error.kind.rawValue)),
            ("message", .string(error.message)),
        ]
        if let code = error.code { members.append(("code", .string(code))) }
        if let param = error.param { members.append(("param", .string(param))) }
        if let declineCode = error.declineCode { members.append(("decline_code", .string(declineCode))) }
        members.append(contentsOf: error.attachments)
        return .object([("error", .object(members))])
    }

    static func response(for error: APIError) -> Response {
        JSONResponse.make(body(for: error), status: .init(code: error.status))
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized()))
        )
    }
}

/// Gives every request an id, logs its outcome (method, path without query, status, time), and
/// turns every error into the error shape. Nothing of the body is ever logged.
///
/// Every response also gets `X-Content-Type-Options: nosniff`, a `Referrer-Policy`, and HSTS when
/// Kessai is reached over TLS. The merchant API answers browsers' CORS requests (the
/// publishable-key calls kessai.js makes from the merchant's page); keys travel in the
/// `Authorization` header, never in cookies, so no credentials are ever allowed.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = KessaiRequestContext
    /// Whether Kessai's public URL is https: then `Strict-Transport-Security` is sent.
    var strictTransport = false
    /// Where a refused card number in a free-text field becomes a security event.
    var refusals: Refusals?

    static let corsHeaders = "Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.logger[metadataKey: "request_id"] = .string(context.requestID.rawValue)
        let started = ContinuousClock.now
        let api = request.uri.path.hasPrefix("/v1/")
        var response: Response
        if api && request.method == .options {
            response = Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: "*", .accessControlAllowMethods: "GET, POST, DELETE",
                    .accessControlAllowHeaders: Self.corsHeaders, .accessControlMaxAge: "600",
                ])
        } else {
            do {
                response = try await next(request, context)
            } catch {
                if let refusal = error as? CardNumberInFreeText { await refusals?.cardNumber(refusal, path: request.uri.path, context: context) }
                response = ErrorMapping.response(for: ErrorMapping.apiError(for: error, logger: context.logger))
            }
        }
        if api && request.headers[.origin] != nil {
            response.headers[.accessControlAllowOrigin] = "*"
            response.headers[.accessControlExposeHeaders] = "Request-Id, Idempotent-Replayed"
        }
        response.headers[.requestID] = context.requestID.rawValue
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        if response.headers[.init("Referrer-Policy")!] == nil {
            response.headers[.init("Referrer-Policy")!] = "strict-origin-when-cross-origin"
        }
        if strictTransport {
            response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains"
        }
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "ms": .stringConvertible(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000),
            ])
        return response
    }
}
