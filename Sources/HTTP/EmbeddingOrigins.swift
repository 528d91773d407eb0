import Hummingbird
import KessaiCore
import Ledger
import Merchants
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The origins a merchant allows to embed Kessai's card fields and 3-D Secure challenge: they
/// become the `frame-ancestors` of those pages, and the only origin the field iframe will talk
/// to. A page on any other origin gets no fields.
struct EmbeddingOrigins: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    static let maximumPerMerchant = 50

    struct Origin: Sendable {
        let id: String
        let origin: String
        let created: Int64

        var json: JSONValue {
            .object([("id", .string(id)), ("object", "embedding_origin"), ("origin", .string(origin)), ("created", .int(created))])
        }
    }

    /// `scheme://host[:port]`, lower-cased, from what a merchant typed; nil when it is not an
    /// origin. Plain http is accepted only for loopback hosts (development).
    static func normalize(_ text: String) -> String? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard trimmed.utf8.count <= 300, let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(),
            !host.isEmpty, url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil,
            host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") })
        else { return nil }
        let loopback = host == "localhost" || host == "127.0.0.1" || host.hasSuffix(".localhost")
        guard scheme == "https" || (scheme == "http" && loopback) else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)" + (url.port.map { $0 == defaultPort ? "" : ":\($0)" } ?? "")
    }

    func origins(of merchant: MerchantID) async throws -> [String] {
        try await list(merchant).map(\.origin)
    }

    func list(_ merchant: MerchantID) async throws -> [Origin] {
        try await database.withConnection { db in
            try await db.select().columns("id", "origin", "created_at").from("embedding_origins").where("merchant_id", .equal, merchant.rawValue)
                .orderBy("created_at").orderBy("id").all()
                .map { Origin(id: try $0.decode(column: "id"), origin: try $0.decode(column: "origin"), created: try $0.decode(column: "created_at")) }
        }
    }

    /// Registers an origin (answers the existing record when it is already registered).
    func add(_ origin: String, merchant: MerchantID, context: AccessContext) async throws -> Origin {
        let now = clock.now()
        return try await database.transaction { db in
            if let row = try await db.select().columns("id", "created_at").from("embedding_origins").where("merchant_id", .equal, merchant.rawValue)
                .where("origin", .equal, origin).first()
            {
                return Origin(id: try row.decode(column: "id"), origin: origin, created: try row.decode(column: "created_at"))
            }
            let count =
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("embedding_origins")
                .where("merchant_id", .equal, merchant.rawValue).first()?.decode(column: "n", as: Int.self) ?? 0
            guard count < Self.maximumPerMerchant else {
                throw APIError.invalid(
                    "origin", "At most \(Self.maximumPerMerchant) origins may be registered; delete one first.", code: "embedding_origins_limit_reached")
            }
            let record = Origin(id: EmbeddingOriginID.random().rawValue, origin: origin, created: now.unixSeconds)
            try await db.insert(into: "embedding_origins").columns("id", "merchant_id", "origin", "created_at")
                .values(SQLBind(record.id), SQLBind(merchant.rawValue), SQLBind(origin), SQLBind(record.created)).run()
            try await ledger.record(
                LedgerEntry(
                    time: now, actor: context.actor, action: "merchant.embedding_origin_added",
                    objects: ["merchant": merchant.rawValue, "embedding_origin": record.id, "origin": origin], requestID: context.requestID,
                    source: context.source), on: db)
            return record
        }
    }

    func remove(_ id: String, merchant: MerchantID, context: AccessContext) async throws -> Bool {
        let now = clock.now()
        return try await database.transaction { db in
            guard
                let row = try await db.select().column("origin").from("embedding_origins").where("id", .equal, id)
                    .where("merchant_id", .equal, merchant.rawValue).first()
            else { return false }
            try await db.delete(from: "embedding_origins").where("id", .equal, id).run()
            try await ledger.record(
                LedgerEntry(
                    time: now, actor: context.actor, action: "merchant.embedding_origin_removed",
                    objects: ["merchant": merchant.rawValue, "embedding_origin": id, "origin": try row.decode(column: "origin")],
                    requestID: context.requestID, source: context.source), on: db)
            return true
        }
    }
}

/// `POST/GET /v1/embedding_origins`, `DELETE /v1/embedding_origins/{id}` (secret key).
struct EmbeddingOriginsController: Sendable {
    let origins: EmbeddingOrigins
    let authenticator: Authenticator
    let reader: ParameterReader
    let idempotency: Idempotency

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/v1/embedding_origins", use: create)
        router.get("/v1/embedding_origins", use: list)
        router.delete("/v1/embedding_origins/:id", use: delete)
    }

    static func access(_ key: AuthenticatedKey, _ context: KessaiRequestContext) -> AccessContext {
        AccessContext(actor: LedgerActor(.merchantKey, key.id.rawValue), requestID: context.requestID.rawValue, source: context.remoteAddress)
    }

    @Sendable func create(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let (parameters, body) = try await reader.bodyAndBytes(request)
        return try await idempotency.run(request, body: body, merchant: key.merchant) {
            try parameters.allowOnly(["origin"])
            let text = try parameters.requiredString("origin")
            guard let origin = EmbeddingOrigins.normalize(text) else {
                throw APIError.invalid(
                    "origin", "origin must be https://host[:port] (http only for localhost), with no path, e.g. https://shop.example.", code: "url_invalid")
            }
            return try await origins.add(origin, merchant: key.merchant, context: Self.access(key, context)).json
        }
    }

    @Sendable func list(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let query = try reader.query(request)
        try query.allowOnly(["limit"])
        let limit = try query.limit()
        let all = try await origins.list(key.merchant)
        return JSONResponse.make(ListDTO.make(all.prefix(limit).map(\.json), hasMore: all.count > limit, url: "/v1/embedding_origins"))
    }

    @Sendable func delete(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        let key = try await authenticator.authenticate(request, context: context, accepts: .secret)
        let id = try context.parameters.require("id")
        guard EmbeddingOriginID(parsing: id) != nil, try await origins.remove(id, merchant: key.merchant, context: Self.access(key, context)) else {
            throw APIError.notFound("embedding_origin", id: String(id.prefix(64)))
        }
        return JSONResponse.make(.object([("id", .string(id)), ("object", "embedding_origin"), ("deleted", true)]))
    }
}
