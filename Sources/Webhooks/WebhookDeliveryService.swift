public import KessaiCore
public import Logging
import SQLKit
public import ServiceLifecycle
public import Storage

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Delivers queued webhook events: claims due deliveries (a claim moves `next_attempt_at` ahead
/// as a lease, so two processes never send the same attempt), sends each event signed
/// (``WebhookSignature``) through the ``WebhookSender``, records every attempt, and retries
/// with exponential backoff (from `retryBase`, doubling, at most 6 hours apart) for up to 3 days.
/// Deliveries to a disabled endpoint wait, unsent, until it is enabled again.
public struct WebhookDeliveryService: Service {
    let database: KessaiDatabase
    let endpoints: WebhookEndpoints
    let sender: any WebhookSender
    let clock: any KessaiClock
    let logger: Logger
    /// The first retry delay; it doubles after each failure.
    let retryBase: TimeInterval
    static let giveUpAfter: TimeInterval = 3 * 24 * 3600
    static let lease: Int64 = 60

    public init(
        database: KessaiDatabase, endpoints: WebhookEndpoints, sender: any WebhookSender, clock: any KessaiClock, logger: Logger, retryBase: TimeInterval
    ) {
        self.database = database
        self.endpoints = endpoints
        self.sender = sender
        self.clock = clock
        self.logger = logger
        self.retryBase = retryBase
    }

    public func run() async throws {
        var rounds = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var sent = 0
            // The queue's depth for /metrics, counted every 20 rounds (about 10 s when idle), not
            // on every claim.
            if rounds % 20 == 0 { try? await recordQueueDepth() }
            rounds += 1
            do {
                // At shutdown, attempts under way are abandoned; their lease runs out and any
                // process sends them again.
                sent = try await cancelWhenGracefulShutdown { try await deliverDue() }
            } catch is CancellationError {
                break
            } catch {
                logger.error("webhook delivery round failed", metadata: ["error": "\(error)"])
            }
            if sent == 0 { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) } }
        }
        await sender.shutdown()
    }

    /// Counts the deliveries waiting (due or for a retry) into `kessai_webhook_queue_depth`.
    func recordQueueDepth() async throws {
        let depth = try await database.withConnection { db in
            try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("webhook_deliveries").where("state", .equal, "pending")
                .first()?.decode(column: "n", as: Int.self)
        }
        KessaiMetrics.webhookQueueDepth(depth ?? 0)
    }

    struct Due: Sendable {
        let delivery: String
        let endpoint: String
        let url: String
        let sealedSecret: String
        let event: StoredEvent
        let attempt: Int
        let created: Int64
    }

    /// Sends every due delivery once.
    /// - Returns: how many were attempted.
    public func deliverDue() async throws -> Int {
        let now = clock.now().unixSeconds
        let due = try await database.transaction { db -> [Due] in
            // Deliveries to disabled endpoints are not even claimed, so they cannot crowd out the rest.
            let rows = try await db.select()
                .column(SQLColumn("id", table: "webhook_deliveries")).column(SQLColumn("endpoint_id", table: "webhook_deliveries"))
                .column(SQLColumn("event_id", table: "webhook_deliveries")).column(SQLColumn("attempts", table: "webhook_deliveries"))
                .column(SQLColumn("created_at", table: "webhook_deliveries"))
                .from("webhook_deliveries")
                .join("webhook_endpoints", on: SQLColumn("id", table: "webhook_endpoints"), .equal, SQLColumn("endpoint_id", table: "webhook_deliveries"))
                .where(SQLColumn("state", table: "webhook_deliveries"), .equal, SQLBind("pending"))
                .where(SQLColumn("next_attempt_at", table: "webhook_deliveries"), .lessThanOrEqual, SQLBind(now))
                .where(SQLColumn("disabled", table: "webhook_endpoints"), .equal, SQLBind(0))
                .orderBy(SQLColumn("next_attempt_at", table: "webhook_deliveries")).limit(20).for(.update).all()
            var due: [Due] = []
            for row in rows {
                let id = try row.decode(column: "id", as: String.self)
                try await db.update("webhook_deliveries").set("next_attempt_at", to: now + Self.lease).where("id", .equal, id).run()
                guard
                    let endpoint = try await db.select().columns("url", "sealed_secret").from("webhook_endpoints")
                        .where("id", .equal, try row.decode(column: "endpoint_id", as: String.self)).first(),
                    let event = try await db.select().column("*").from("events").where("id", .equal, try row.decode(column: "event_id", as: String.self))
                        .first()
                else { continue }
                due.append(
                    Due(
                        delivery: id, endpoint: try row.decode(column: "endpoint_id", as: String.self),
                        url: try endpoint.decode(column: "url", as: String.self),
                        sealedSecret: try endpoint.decode(column: "sealed_secret", as: String.self), event: try StoredEvent.decode(event, pending: 1),
                        attempt: try row.decode(column: "attempts", as: Int.self) + 1, created: try row.decode(column: "created_at", as: Int64.self)))
            }
            return due
        }
        await withTaskGroup(of: Void.self) { group in
            for item in due {
                group.addTask { await deliver(item) }
            }
        }
        return due.count
    }

    /// One attempt of one delivery, and its record.
    func deliver(_ due: Due) async {
        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        var wasRefused = false
        do {
            let secret = try endpoints.unseal(due.sealedSecret, endpoint: due.endpoint)
            let body = due.event.json
            let signature = WebhookSignature.header(body: body, secret: secret, timestamp: clock.now().unixSeconds)
            let code = try await sender.send(OutgoingWebhook(url: due.url, body: body, signature: signature))
            status = code
            if !(200..<300).contains(code) { failure = "HTTP \(code)" }
        } catch let refused as WebhookAddress.Refused {
            failure = "refused: \(refused.description)"
            wasRefused = true
        } catch {
            failure = String(String(describing: error).prefix(300))
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let now = clock.now().unixSeconds
        let delay = min(retryBase * Double(1 << min(due.attempt - 1, 20)), 6 * 3600)
        let giveUp = Double(now) + delay > Double(due.created) + Self.giveUpAfter
        let state = failure == nil ? "delivered" : (giveUp ? "failed" : "pending")
        KessaiMetrics.webhookDelivered(outcome: failure == nil ? "delivered" : wasRefused ? "refused" : giveUp ? "abandoned" : "failed")
        let (code, error) = (status, failure)
        do {
            try await database.transaction { db in
                try await db.insert(into: "webhook_attempts").columns("delivery_id", "attempt", "attempted_at", "status_code", "error", "duration_ms")
                    .values(SQLBind(due.delivery), SQLBind(due.attempt), SQLBind(now), SQLBind(code), SQLBind(error), SQLBind(milliseconds)).run()
                var update = db.update("webhook_deliveries").set("attempts", to: due.attempt).set("state", to: state).set("last_status", to: code)
                    .set("last_error", to: error)
                if error == nil {
                    update = update.set("delivered_at", to: now)
                } else {
                    update = update.set("next_attempt_at", to: now + Int64(delay))
                }
                try await update.where("id", .equal, due.delivery).run()
            }
        } catch {
            logger.error("recording a webhook attempt failed", metadata: ["delivery": "\(due.delivery)", "error": "\(error)"])
        }
        logger.info(
            "webhook attempt",
            metadata: [
                "delivery": "\(due.delivery)", "event": "\(due.event.id)", "type": "\(due.event.type)", "attempt": "\(due.attempt)",
                "status": "\(status.map(String.init) ?? "none")", "state": "\(state)",
            ])
    }
}
