import Hummingbird
import KessaiCore
import Storage

/// `GET /health` answers while the process runs; `GET /ready` only when the database answers.
struct HealthController: Sendable {
    let database: KessaiDatabase

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/health") { _, _ in
            JSONResponse.make(.object([("status", "ok")]))
        }
        router.get("/ready") { _, _ in
            await database.ping()
                ? JSONResponse.make(.object([("status", "ready"), ("database", .string(database.kind.rawValue))]))
                : JSONResponse.make(.object([("status", "unavailable"), ("database", .string(database.kind.rawValue))]), status: .serviceUnavailable)
        }
    }
}
