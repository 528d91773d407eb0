public import KessaiCore
public import Logging
import SQLKit
public import Storage
public import Webhooks

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Tells operators, through what they already run: one log line in a fixed form (journald and
/// syslog collect standard error), an e-mail row in `alert_outbox` for the mailer, a signed
/// webhook to an operations endpoint (Kessai's merchant signing scheme), and the Prometheus
/// counters.
public struct Alerter: Sendable {
    /// The operations endpoint and its signing secret.
    public struct OpsWebhook: Sendable {
        public let url: String
        public let secret: String
        public init(url: String, secret: String) {
            self.url = url
            self.secret = secret
        }
    }

    let database: KessaiDatabase
    let clock: any KessaiClock
    let logger: Logger
    let webhook: OpsWebhook?
    let sender: (any WebhookSender)?

    public init(database: KessaiDatabase, clock: any KessaiClock, logger: Logger, webhook: OpsWebhook? = nil, sender: (any WebhookSender)? = nil) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.webhook = webhook
        self.sender = sender
    }

    /// Releases the webhook sender's connections (when the service stops).
    public func shutdown() async { await sender?.shutdown() }

    /// Alerts for an incident that opened (`opened`) or that nobody acknowledged yet (`reminder`).
    public func alert(_ incident: Incident, reason: String) async {
        let line = "SENTINEL \(reason.uppercased()) \(incident.severity.rawValue) \(incident.id) \(incident.kind): \(incident.summary)"
        logger.critical(
            "\(line)",
            metadata: [
                "event": "sentinel_alert", "incident": "\(incident.id)", "kind": "\(incident.kind)", "severity": "\(incident.severity.rawValue)",
                "source": "\(incident.source ?? "-")", "reason": "\(reason)",
            ])
        let body = JSONValue.object([
            ("type", .string("incident.\(reason)")), ("id", .string(incident.id)), ("kind", .string(incident.kind)),
            ("severity", .string(incident.severity.rawValue)), ("status", .string(incident.status.rawValue)), ("summary", .string(incident.summary)),
            ("source", .optional(incident.source)), ("opened_at", .int(incident.openedAt)), ("events", .int(Int64(incident.events))),
        ]).serialized()
        do {
            try await database.withConnection { db in
                try await db.insert(into: "alert_outbox").columns("id", "incident_id", "channel", "subject", "body", "created_at")
                    .values(
                        SQLBind("alr_" + Base62.random(count: 16)), SQLBind(incident.id), SQLBind("email"),
                        SQLBind("[Kessai] \(incident.severity.rawValue) incident \(incident.id): \(incident.kind)"), SQLBind(body),
                        SQLBind(clock.now().unixSeconds)
                    ).run()
            }
        } catch {
            logger.error("alert outbox write failed", metadata: ["incident": "\(incident.id)", "error": "\(String(describing: error).prefix(200))"])
        }
        if let webhook, let sender {
            let signature = WebhookSignature.header(body: body, secret: webhook.secret, timestamp: clock.now().unixSeconds)
            do {
                let status = try await sender.send(OutgoingWebhook(url: webhook.url, body: body, signature: signature))
                if !(200..<300).contains(status) { logger.error("ops webhook answered \(status)", metadata: ["incident": "\(incident.id)"]) }
            } catch {
                logger.error("ops webhook failed", metadata: ["incident": "\(incident.id)", "error": "\(String(describing: error).prefix(200))"])
            }
        }
    }
}
