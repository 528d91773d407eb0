import Hummingbird
import KessaiCore
import Ledger
import Operators
import Vault

/// `GET /v1/ledger/checkpoint`: the latest signed tree head, for an operator credential (`op_…`).
struct LedgerController: Sendable {
    let gateway: Gateway

    func register(on router: Router<KessaiRequestContext>) {
        router.get("/v1/ledger/checkpoint", use: checkpoint)
    }

    @Sendable func checkpoint(_ request: Request, context: KessaiRequestContext) async throws -> Response {
        guard let presented = Authenticator.presentedKey(request), let _ = try await gateway.operatorTokens.authenticate(presented) else {
            try await gateway.failures.record(
                LedgerEntry(
                    time: gateway.clock.now(), actor: LedgerActor(.anonymous, Authenticator.presentedKey(request).map(Authenticator.hint) ?? "none"),
                    action: "auth.failure", objects: ["endpoint": "ledger.checkpoint"], requestID: context.requestID.rawValue,
                    source: context.remoteAddress, outcome: "invalid_operator_token"),
                subject: "op")
            throw APIError(kind: .authentication, code: nil, message: "An operator token (op_…) is required.", status: 401)
        }
        guard let latest = try await gateway.ledger.checkpoints().last else {
            throw APIError(kind: .invalidRequest, code: "resource_missing", message: "No checkpoint has been signed yet.", status: 404)
        }
        let publicKey = try gateway.keySource.checkpointPublicKey()
        return JSONResponse.make(
            .object([
                ("object", "ledger_checkpoint"),
                ("size", .int(Int64(latest.size))),
                ("root_hash", .string(latest.root.base64EncodedString())),
                ("timestamp", .int(latest.time)),
                ("signed_note", .string(String(decoding: Checkpoint.signedText(size: latest.size, root: latest.root, time: latest.time), as: UTF8.self))),
                ("signature", .string(latest.signature.base64EncodedString())),
                ("key_id", .string(latest.keyID)),
                ("public_key", .string(publicKey.base64EncodedString())),
                ("algorithm", "Ed25519"),
            ]))
    }
}
