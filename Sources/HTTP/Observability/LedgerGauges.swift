import KessaiCore
import SQLKit
import Storage

/// The ledger gauges: the log's size and the entries waiting for the sequencer.
enum LedgerGauges {
    /// Entries written to `ledger_pending` and not yet sequenced into the log.
    static func pendingCount(_ database: KessaiDatabase) async throws -> Int {
        try await database.withConnection { db in
            try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("ledger_pending").first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }
}
