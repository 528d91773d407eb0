import HTTPTypes
import Hummingbird
import KessaiCore
import Logging
import Merchants
import NIOCore
import SQLKit
import Storage
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// `Idempotency-Key` on every POST, per merchant, as Stripe does it:
/// - the first response (success, a card error, or a server error once execution began) is kept
///   for 24 hours and replayed for the same key, marked `Idempotent-Replayed: true`;
/// - the same key with other parameters, or on another endpoint, is 400 `idempotency_error`;
/// - a key whose request is still running is 409;
/// - a request refused before it began (bad parameters, a wrong state, not found) keeps nothing,
///   so the key can be used again with corrected parameters.
///
/// The key is claimed in the database before the request runs, with a lease: a process killed
/// mid-request leaves a claim that the next attempt with the key takes over once the lease has
/// run out. Payments themselves are protected by their own state (an intent being confirmed is
/// `processing`), so a takeover never charges twice.
///
/// The stored fingerprint of the request is an HMAC under the key source's API-key MAC key
/// (domain-separated): a request body can hold a card number (tokenization), and an unkeyed hash
/// of one could be searched. The key itself is stored only as an HMAC too (`h1:…`), over the
/// kind of API key that sent it and the key: a merchant who pastes something sensitive into the
/// header leaves nothing readable, and a publishable key (public, in every buyer's browser)
/// cannot claim the keys the merchant's server will use with its secret key.
struct Idempotency: Sendable {
    let database: KessaiDatabase
    let keySource: any KeySource
    let clock: any KessaiClock
    /// How long a claim holds before another attempt may take it over.
    let lease: TimeInterval
    static let retention: TimeInterval = 24 * 3600

    /// Runs `work` under the request's `Idempotency-Key`, if it has one.
    func run(
        _ request: Request, body: ByteBuffer, merchant: MerchantID, _ work: () async throws -> JSONValue
    ) async throws -> Response {
        guard let presented = request.headers[.idempotencyKey] else { return JSONResponse.make(try await work()) }
        guard !presented.isEmpty, presented.count <= 255, presented.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else {
            throw APIError(
                kind: .invalidRequest, code: "idempotency_key_invalid",
                message: "Idempotency-Key must be 1 to 255 printable ASCII characters.", param: "Idempotency-Key", status: 400)
        }
        let key = try Self.storedKey(presented, scope: Self.scope(request), keySource: keySource)
        var message = Data("kessai-idempotency-v1\n\(request.method.rawValue) \(request.uri.path)\n".utf8)
        message.append(contentsOf: body.readableBytesView)
        let fingerprint = Hex.encode(try keySource.mac(message, purpose: .apiKeyHash))
        switch try await claim(merchant: merchant, key: key, fingerprint: fingerprint) {
        case .replay(let status, let text):
            var response = Response(
                status: .init(code: status), headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
            response.headers[.idempotentReplayed] = "true"
            return response
        case .otherParameters:
            throw APIError(
                kind: .idempotency, code: "idempotency_key_in_use",
                message:
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using another key if you meant to execute a different request.",
                param: "Idempotency-Key", status: 400)
        case .inFlight:
            throw APIError(
                kind: .idempotency, code: "idempotency_key_in_use",
                message: "There is currently another in-progress request using this Idempotency-Key. Retry after it has finished.", status: 409)
        case .claimed:
            break
        }
        do {
            let value = try await work()
            try await finish(merchant: merchant, key: key, status: 200, response: value.serialized())
            return JSONResponse.make(value)
        } catch {
            let mapped = ErrorMapping.apiError(for: error, logger: Logger(label: "kessai.idempotency"))
            if mapped.status == 402 || mapped.status >= 500 {
                try await finish(merchant: merchant, key: key, status: mapped.status, response: ErrorMapping.body(for: mapped).serialized())
            } else {
                try await release(merchant: merchant, key: key)
            }
            throw error
        }
    }

    /// Which kind of API key sent the request: keys are scoped by it as well as by merchant.
    static func scope(_ request: Request) -> String {
        let presented = Authenticator.presentedKey(request) ?? ""
        return presented.hasPrefix("pk_") ? "publishable" : "secret"
    }

    /// What is stored for a presented key: `h1:` and an HMAC of the scope and the key.
    static func storedKey(_ presented: String, scope: String, keySource: any KeySource) throws -> String {
        let mac = try keySource.mac(Data("kessai-idempotency-key-v1\n\(scope)\n\(presented)".utf8), purpose: .apiKeyHash)
        return "h1:" + Hex.encode(mac)
    }

    /// Replaces keys stored in clear by an earlier version with their HMAC (as a secret key's:
    /// publishable keys rarely sent one), so that none stays readable. Runs at start.
    static func hashClearKeys(database: KessaiDatabase, keySource: any KeySource) async throws {
        try await database.transaction { db in
            let rows = try await db.select().columns("merchant_id", "idempotency_key").from("idempotency_keys")
                .where("idempotency_key", .notLike, "h1:%").all()
            for row in rows {
                let merchant = try row.decode(column: "merchant_id", as: String.self)
                let clear = try row.decode(column: "idempotency_key", as: String.self)
                try await db.update("idempotency_keys").set("idempotency_key", to: try storedKey(clear, scope: "secret", keySource: keySource))
                    .where("merchant_id", .equal, merchant).where("idempotency_key", .equal, clear).run()
            }
            let confirmed = try await db.select().columns("id", "confirmed_by_key").from("payment_intents")
                .where("confirmed_by_key", .notLike, "h1:%").all()
            for row in confirmed {
                let id = try row.decode(column: "id", as: String.self)
                let clear = try row.decode(column: "confirmed_by_key", as: String.self)
                try await db.update("payment_intents").set("confirmed_by_key", to: try storedKey(clear, scope: "secret", keySource: keySource))
                    .where("id", .equal, id).where("confirmed_by_key", .equal, clear).run()
            }
        }
    }

    /// The stored form of this request's `Idempotency-Key`, for a payment that remembers which
    /// key confirmed it; `nil` without one.
    func storedKey(_ request: Request) throws -> String? {
        try request.headers[.idempotencyKey].map { try Self.storedKey($0, scope: Self.scope(request), keySource: keySource) }
    }

    enum Claim {
        case claimed
        case replay(status: Int, response: String)
        case otherParameters
        case inFlight
    }

    private func claim(merchant: MerchantID, key: String, fingerprint: String) async throws -> Claim {
        let now = clock.now().unixSeconds
        let lockedUntil = now + Int64(lease)
        return try await database.transaction { db in
            // A key older than the retention period is forgotten.
            try await db.delete(from: "idempotency_keys").where("merchant_id", .equal, merchant.rawValue).where("idempotency_key", .equal, key)
                .where("created_at", .lessThan, now - Int64(Self.retention)).run()
            let inserted = try await db.insert(into: "idempotency_keys")
                .columns("merchant_id", "idempotency_key", "request_hash", "state", "locked_until", "created_at")
                .values(SQLBind(merchant.rawValue), SQLBind(key), SQLBind(fingerprint), SQLBind("in_flight"), SQLBind(lockedUntil), SQLBind(now))
                .ignoringConflicts(with: ["merchant_id", "idempotency_key"])
                .returning("created_at").all()
            if !inserted.isEmpty { return .claimed }
            guard
                let row = try await db.select().columns("request_hash", "state", "status_code", "response", "locked_until").from("idempotency_keys")
                    .where("merchant_id", .equal, merchant.rawValue).where("idempotency_key", .equal, key).for(.update).first()
            else { return .inFlight }
            guard try row.decode(column: "request_hash", as: String.self) == fingerprint else { return .otherParameters }
            if try row.decode(column: "state", as: String.self) == "done" {
                return .replay(status: try row.decode(column: "status_code", as: Int.self), response: try row.decode(column: "response", as: String.self))
            }
            guard try row.decode(column: "locked_until", as: Int64.self) < now else { return .inFlight }
            // The request that held the key died with its process: this one takes over.
            try await db.update("idempotency_keys").set("locked_until", to: lockedUntil).where("merchant_id", .equal, merchant.rawValue)
                .where("idempotency_key", .equal, key).run()
            return .claimed
        }
    }

    private func finish(merchant: MerchantID, key: String, status: Int, response: String) async throws {
        try await database.withConnection { db in
            try await db.update("idempotency_keys").set("state", to: "done").set("status_code", to: status).set("response", to: response)
                .where("merchant_id", .equal, merchant.rawValue).where("idempotency_key", .equal, key).run()
        }
    }

    private func release(merchant: MerchantID, key: String) async throws {
        try await database.withConnection { db in
            try await db.delete(from: "idempotency_keys").where("merchant_id", .equal, merchant.rawValue).where("idempotency_key", .equal, key).run()
        }
    }

    /// Forgets keys older than the retention period.
    func sweep() async throws {
        let cutoff = clock.now().unixSeconds - Int64(Self.retention)
        try await database.withConnection { db in
            try await db.delete(from: "idempotency_keys").where("created_at", .lessThan, cutoff).run()
        }
    }
}
