import KessaiCore
import SQLKit
public import Storage

extension Vault {
    /// Gives payment methods written before fingerprints were per merchant their merchant's
    /// fingerprint. A row still showing the vault's internal fingerprint is one of those; the
    /// merchant's is derived from the internal one, so no card is decrypted. Safe to run at every
    /// start and from several processes at once (each update is conditional on the old value).
    /// - Returns: how many payment methods were changed.
    @discardableResult
    public func migrateMerchantFingerprints(in database: KessaiDatabase, batch: Int = 500) async throws -> Int {
        var changed = 0
        while true {
            let rows = try await database.withConnection { db in
                try await db.select().column(SQLColumn("id", table: "payment_methods")).column(SQLColumn("merchant_id", table: "payment_methods"))
                    .column(SQLColumn("fingerprint", table: "vault_cards"))
                    .from("payment_methods")
                    .join("vault_cards", on: SQLColumn("token", table: "vault_cards"), .equal, SQLColumn("id", table: "payment_methods"))
                    .where(SQLColumn("fingerprint", table: "payment_methods"), .equal, SQLColumn("fingerprint", table: "vault_cards"))
                    .limit(batch).all()
            }
            if rows.isEmpty { return changed }
            try await database.transaction { db in
                for row in rows {
                    let id = try row.decode(column: "id", as: String.self)
                    let merchant = MerchantID(rawValue: try row.decode(column: "merchant_id", as: String.self))
                    let global = try row.decode(column: "fingerprint", as: String.self)
                    try await db.update("payment_methods").set("fingerprint", to: try merchantFingerprint(global: global, merchant: merchant))
                        .where("id", .equal, id).where("fingerprint", .equal, global).run()
                }
            }
            changed += rows.count
        }
    }
}
