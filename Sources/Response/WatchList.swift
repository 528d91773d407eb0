public import KessaiCore
public import Ledger
import SQLKit
public import Storage

/// The exposure watch list: the cards an incident exposed, by the vault's internal fingerprint
/// (a keyed hash: the same number at every merchant, never the number itself). A later payment
/// with a listed card is flagged on its intent and charge, or blocked where the merchant
/// refuses watched cards (`Payments.CardWatch`); a reissued card has a new number and is not
/// listed. Every listing is a ledger entry.
public struct WatchList: Sendable {
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    public init(database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock) {
        self.database = database
        self.ledger = ledger
        self.clock = clock
    }

    /// What a listing did.
    public struct Listing: Sendable, Equatable {
        /// Cards put on the list by this call.
        public let added: Int
        /// Cards of the scope that were listed already.
        public let alreadyListed: Int
    }

    /// Lists every card the scope found read in clear (the numbers the suspect had).
    /// - Parameters:
    ///   - incident: the incident that exposed them (`inc_…`), shown on flagged payments.
    ///   - actor: who lists them, for the ledger.
    public func add(_ scope: ExposureScope.Result, incident: String?, actor: LedgerActor, source: String? = nil) async throws -> Listing {
        let tokens = scope.merchants.flatMap { $0.readInClear.keys }.sorted()
        let now = clock.now()
        return try await database.transaction { db in
            // The cards' fingerprints with their mode: a test card's exposure watches test payments only.
            var cards = Set<Card>()
            for start in stride(from: 0, to: tokens.count, by: 500) {
                let chunk = Array(tokens[start..<min(start + 500, tokens.count)])
                let rows = try await db.select().column(SQLColumn("fingerprint", table: "vault_cards")).column(SQLColumn("livemode", table: "payment_methods"))
                    .from("vault_cards").join(
                        "payment_methods", on: SQLColumn("token", table: "vault_cards"), .equal, SQLColumn("id", table: "payment_methods")
                    )
                    .where(SQLColumn("token", table: "vault_cards"), .in, SQLBind.group(chunk)).all()
                for row in rows {
                    cards.insert(
                        Card(fingerprint: try row.decode(column: "fingerprint", as: String.self), livemode: try row.decode(column: "livemode", as: Int.self)))
                }
            }
            var added = 0
            for card in cards.sorted(by: { ($0.fingerprint, $0.livemode) < ($1.fingerprint, $1.livemode) }) {
                // Another process may list the same card at the same moment: the database keeps one.
                added += try await db.insert(into: "watched_cards").columns("fingerprint", "livemode", "incident", "added_by", "added_at")
                    .values(
                        SQLBind(card.fingerprint), SQLBind(card.livemode), SQLBind(incident), SQLBind("\(actor.kind.rawValue):\(actor.id)"),
                        SQLBind(now.unixSeconds)
                    )
                    .ignoringConflicts(with: ["fingerprint", "livemode"]).returning("fingerprint").all().count
            }
            let already = cards.count - added
            var objects = ["cards": String(added), "already_listed": String(already)]
            if let incident { objects["incident"] = incident }
            try await ledger.record(LedgerEntry(time: now, actor: actor, action: "cards.watched", objects: objects, source: source), on: db)
            return Listing(added: added, alreadyListed: already)
        }
    }

    struct Card: Hashable {
        let fingerprint: String
        let livemode: Int
    }

    /// How many cards are listed.
    public func count() async throws -> Int {
        try await database.withConnection { db in
            let row = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("watched_cards").first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}
