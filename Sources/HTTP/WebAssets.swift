import Crypto
import HTTPTypes
import Hummingbird
import KessaiCore
import Ledger
import Logging
import NIOCore
import SQLKit
import ServiceLifecycle
import Storage
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The folder Kessai serves payment-page scripts from (`web/` in the repository).
public enum WebRoot {
    /// The configured folder, or the first `web/` found beside the working directory or above
    /// the executable (`.build/debug/kessai` finds the repository's `web/`).
    public static func resolve(_ configured: String?) -> String? {
        if let configured { return configured }
        var candidates = ["web"]
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("web").path)
            directory = directory.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/js/v1/kessai.js") }
    }
}

/// Serves the inventoried scripts and the inventory itself. Nothing that is not in
/// ``ScriptInventory`` is served, whatever lies in the web root.
struct WebAssetsController: Sendable {
    let webRoot: String?

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/js/v1/inventory.json", use: inventory)
        router.get("/js/v1/:file", use: script)
    }

    @Sendable func script(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        guard let entry = ScriptInventory.entry(path: request.uri.path), let webRoot,
            let bytes = FileManager.default.contents(atPath: webRoot + "/" + entry.file)
        else {
            throw APIError(kind: .invalidRequest, code: "resource_missing", message: "No such script.", status: 404)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=300",
                // Cross-origin pages load it with integrity=…, which needs a CORS-enabled fetch.
                .accessControlAllowOrigin: "*", .init("Cross-Origin-Resource-Policy")!: "cross-origin",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `GET /js/v1/inventory.json`: every script with its `integrity` value and reason.
    @Sendable func inventory(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        var response = JSONResponse.make(
            .object([
                ("object", "script_inventory"),
                (
                    "scripts",
                    .array(
                        ScriptInventory.entries.map {
                            .object([("path", .string($0.path)), ("integrity", .string($0.integrity)), ("reason", .string($0.reason))])
                        })
                ),
            ]))
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }
}

/// Compares what Kessai would serve with the inventory.
struct ScriptIntegrity: Sendable {
    let webRoot: String?

    struct Finding: Sendable, Equatable {
        let path: String
        /// The hash of the file as it is now; nil when it is missing.
        let observed: String?
        let expected: String
    }

    /// The scripts whose file differs from the inventory (empty when all match).
    func check() -> [Finding] {
        ScriptInventory.entries.compactMap { entry in
            let observed = webRoot.flatMap { FileManager.default.contents(atPath: $0 + "/" + entry.file) }
                .map { Data(SHA384.hash(data: $0)).base64EncodedString() }
            return observed == entry.sha384 ? nil : Finding(path: entry.path, observed: observed, expected: entry.sha384)
        }
    }
}

/// Records security events: a row in `security_events`, a ledger entry, a warning in the log.
struct SecurityEvents: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock
    let logger: Logger

    /// - Parameters:
    ///   - kind: `script_integrity`, `csp_violation`.
    ///   - detail: what happened, without secrets (URLs are cut at `?`).
    func record(_ kind: String, detail: [(String, String)], source: String?, requestID: String?, actor: LedgerActor? = nil) async throws {
        let id = SecurityEventID.random()
        let now = clock.now()
        let json = JSONValue.object(detail.map { ($0.0, .string($0.1)) }).serialized()
        try await database.transaction { db in
            try await db.insert(into: "security_events").columns("id", "kind", "detail", "source", "created_at")
                .values(SQLBind(id.rawValue), SQLBind(kind), SQLBind(json), SQLBind(source), SQLBind(now.unixSeconds)).run()
            var objects = ["security_event": id.rawValue]
            for (key, value) in detail { objects[key] = value }
            try await ledger.record(
                LedgerEntry(
                    time: now, actor: actor ?? LedgerActor(.system, kind == "csp_violation" ? "csp_report" : "integrity_check"), action: "security.\(kind)",
                    objects: objects, requestID: requestID, source: source, outcome: "detected"),
                on: db)
        }
        var metadata: Logger.Metadata = ["event": .string(kind), "security_event": .string(id.rawValue)]
        for (key, value) in detail { metadata[key] = .string(value) }
        logger.warning("security event", metadata: metadata)
    }

    /// A URL as it may be recorded: without query or fragment (they can carry client secrets).
    static func clean(_ url: String?) -> String {
        guard let url, !url.isEmpty else { return "" }
        let cut = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        let bare = cut.split(separator: "#", maxSplits: 1).first.map(String.init) ?? cut
        return String(bare.prefix(300))
    }
}

/// Checks the served scripts against the inventory at start and every `interval` seconds; each
/// new difference (a file whose hash changed again counts anew) becomes a security event.
struct IntegrityService: Service {
    let integrity: ScriptIntegrity
    let events: SecurityEvents
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        var reported: [String: String] = [:]
        var first = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let findings = integrity.check()
            if first && findings.isEmpty {
                logger.info("payment-page scripts match the inventory", metadata: ["scripts": "\(ScriptInventory.entries.count)"])
            }
            first = false
            for finding in findings where reported[finding.path] != (finding.observed ?? "missing") {
                do {
                    try await events.record(
                        "script_integrity",
                        detail: [
                            ("path", finding.path), ("expected", "sha384-" + finding.expected),
                            ("observed", finding.observed.map { "sha384-" + $0 } ?? "missing"),
                        ], source: nil, requestID: nil)
                    reported[finding.path] = finding.observed ?? "missing"
                } catch {
                    logger.error("recording a script integrity finding failed", metadata: ["error": "\(error)"])
                }
            }
            for path in reported.keys where !findings.contains(where: { $0.path == path }) {
                logger.info("payment-page script matches the inventory again", metadata: ["path": .string(path)])
                reported[path] = nil
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
    }
}

/// `POST /csp-report`: browsers report Content-Security-Policy violations on Kessai's pages here
/// (both the `report-uri` form, `application/csp-report`, and the Reporting API's
/// `application/reports+json`). Each becomes a security event; at most 60 a minute are recorded
/// per process, the rest are counted in the log, so a flood cannot fill the ledger.
struct CSPReportController: Sendable {
    let events: SecurityEvents
    let limiter: RateWindow

    func register(on router: Router<KessaiRequestContext>) {
        router.post("/csp-report", use: report)
    }

    struct Legacy: Decodable {
        let report: Body
        enum CodingKeys: String, CodingKey { case report = "csp-report" }
        struct Body: Decodable {
            let documentURI: String?
            let violatedDirective: String?
            let effectiveDirective: String?
            let blockedURI: String?
            enum CodingKeys: String, CodingKey {
                case documentURI = "document-uri", violatedDirective = "violated-directive", effectiveDirective = "effective-directive"
                case blockedURI = "blocked-uri"
            }
        }
    }

    struct Reporting: Decodable {
        let type: String
        let body: Body?
        struct Body: Decodable {
            let documentURL: String?
            let effectiveDirective: String?
            let blockedURL: String?
        }
    }

    @Sendable func report(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: 16 * 1024) } catch { throw ErrorMapping.tooLarge }
        let data = Data(buffer.readableBytesView)
        var reports: [(document: String?, directive: String?, blocked: String?)] = []
        if let legacy = try? JSONDecoder().decode(Legacy.self, from: data) {
            reports.append((legacy.report.documentURI, legacy.report.effectiveDirective ?? legacy.report.violatedDirective, legacy.report.blockedURI))
        } else if let list = try? JSONDecoder().decode([Reporting].self, from: data) {
            for item in list.prefix(10) where item.type == "csp-violation" {
                reports.append((item.body?.documentURL, item.body?.effectiveDirective, item.body?.blockedURL))
            }
        } else {
            throw APIError.invalid("body", "Send a CSP violation report (application/csp-report or application/reports+json).")
        }
        for report in reports {
            guard limiter.allow() else {
                context.logger.warning("CSP report dropped: over the rate limit", metadata: ["event": "csp_violation_dropped"])
                continue
            }
            try await events.record(
                "csp_violation",
                detail: [
                    ("document", SecurityEvents.clean(report.document)), ("directive", String((report.directive ?? "").prefix(100))),
                    ("blocked", SecurityEvents.clean(report.blocked)),
                ], source: context.remoteAddress, requestID: context.requestID.rawValue)
        }
        return Response(status: .noContent)
    }
}

/// A fixed window counter: at most `limit` events per `window` seconds.
final class RateWindow: Sendable {
    private let state = Mutex<(start: ContinuousClock.Instant, count: Int)>((ContinuousClock.now, 0))
    let limit: Int
    let window: Duration

    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    func allow() -> Bool {
        state.withLock { value in
            let now = ContinuousClock.now
            if now - value.start >= window { value = (now, 0) }
            guard value.count < limit else { return false }
            value.count += 1
            return true
        }
    }
}
