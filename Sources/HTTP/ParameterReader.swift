import Hummingbird
import KessaiCore
import NIOCore

/// Collects a request's form body under a size limit and parses it.
struct ParameterReader: Sendable {
    /// The largest body accepted; larger gets 413.
    let maximumBodyBytes: Int

    /// The body's parameters.
    /// - Parameter cardFields: the parameters that may carry a card number; in every other name
    ///   and value a card number is refused (``FreeTextGuard``).
    func body(_ request: Request, cardFields: Set<String> = []) async throws -> Parameters {
        try await bodyAndBytes(request, cardFields: cardFields).0
    }

    /// The parameters and the raw body (the idempotency fingerprint is taken over the bytes).
    func bodyAndBytes(_ request: Request, cardFields: Set<String> = []) async throws -> (Parameters, ByteBuffer) {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodyBytes {
            throw ErrorMapping.tooLarge
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw ErrorMapping.tooLarge
        }
        if buffer.readableBytes > 0, let type = request.headers[.contentType],
            !type.lowercased().hasPrefix("application/x-www-form-urlencoded")
        {
            throw APIError(
                kind: .invalidRequest, code: nil, message: "Send parameters as application/x-www-form-urlencoded, as Stripe's libraries do.", status: 415)
        }
        let values = try FreeTextGuard.parsing { () throws(APIError) in try FormValue.parse(buffer.readableBytesView) }
        try FreeTextGuard.check(values, cardFields: cardFields)
        if let key = request.headers[.idempotencyKey] { try FreeTextGuard.check(header: "Idempotency-Key", key) }
        return (Parameters(values), buffer)
    }

    func query(_ request: Request) throws -> Parameters {
        guard let query = request.uri.query, !query.isEmpty else { return Parameters([:]) }
        guard query.utf8.count <= maximumBodyBytes else { throw ErrorMapping.tooLarge }
        let values = try FreeTextGuard.parsing { () throws(APIError) in try FormValue.parse(Array(query.utf8)) }
        try FreeTextGuard.check(values)
        return Parameters(values)
    }
}
