import Hummingbird
import KessaiCore
import NIOCore
import Payments
import Webhooks

/// `GET /v1/events` and `GET /v1/events/{id}`: a merchant's events, as its webhooks carry them.
struct EventsController: Sendable {
    let events: EventStore
    let authenticator: Authenticator
    let reader: ParameterReader

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/v1/events", use: list)
        router.get("/v1/events/:id", use: retrieve)
    }

    static let eventTypes = Set(PaymentEventType.allCases.map(\.rawValue))

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit", "starting_after", "ending_before", "type", "expand"])
        let (limit, after, before) = try ListParameters.parse(query, EventID.self)
        let type = try query.string("type")
        if let type, !type.isEmpty, !Self.eventTypes.contains(type) {
            throw APIError.invalid("type", "Unknown event type: \(type.prefix(60)).")
        }
        let (found, hasMore) = try await events.list(
            merchant: key.merchant, type: type?.isEmpty == false ? type : nil, limit: limit, startingAfter: after, endingBefore: before)
        return Self.json("{\"object\":\"list\",\"data\":[" + found.map(\.json).joined(separator: ",") + "],\"has_more\":\(hasMore),\"url\":\"/v1/events\"}")
    }

    @Sendable func retrieve(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        try reader.query(request).allowOnly(["expand"])
        let raw = try context.parameters.require("id")
        guard let id = EventID(parsing: raw), let event = try await events.find(id, merchant: key.merchant) else {
            throw APIError.notFound("event", id: String(raw.prefix(64)))
        }
        return Self.json(event.json)
    }

    /// An event's JSON as stored (its object is spliced in byte for byte, not re-encoded).
    static func json(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
