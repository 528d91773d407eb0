public import KessaiCore
public import Ledger
import SQLKit
public import Storage

/// "Which cards did the suspect reach?" — computed from the ledger, per merchant:
/// - **read in clear**: cards whose number the suspect decrypted in the window, each read with
///   its time, purpose, the payment it served and its ledger position — and cards tokenized
///   through the suspect in the window (the number passed through it in clear; purpose
///   `tokenization`);
/// - **security codes in reach**: codes tokenized through the suspect and not yet consumed or
///   destroyed when the window began (a code lives at most 10 minutes);
/// - **ciphertext only**: the other cards stored by the window's end — exposed only if the
///   key-encryption key was taken too;
/// - **personal data** in payment records (with ``Query/databaseCopy``: every cash payment's and
///   card's billing details stored by the window's end).
/// The suspect is whatever the filters name (process, host, actor, merchant, source address,
/// key version); no filter means everything in the window.
public struct ExposureScope: Sendable {
    public struct Query: Sendable {
        public var from: Int64
        public var to: Int64
        public var instance: String?
        public var host: String?
        public var actor: String?
        public var merchant: String?
        public var sourceAddress: String?
        public var keyVersion: String?
        public var databaseCopy = false

        /// A window in milliseconds since the epoch, `from` inclusive, `to` exclusive.
        public init(from: Int64, to: Int64) {
            self.from = from
            self.to = to
        }

        /// Whether an entry was written by (or for) the suspect.
        func names(_ entry: LedgerEntry) -> Bool {
            if let instance, entry.instance != instance { return false }
            if let host, !(entry.instance ?? "").hasPrefix(host + ":") && entry.instance != host { return false }
            if let actor, entry.actor.id != actor { return false }
            if let merchant, entry.objects["merchant"] != merchant { return false }
            if let sourceAddress, entry.source != sourceAddress { return false }
            if let keyVersion, entry.objects["key_version"] != keyVersion { return false }
            return true
        }
    }

    public struct Read: Sendable, Equatable {
        public let seq: Int
        public let time: Int64
        public let purpose: String?
        public let paymentIntent: String?
        public let actor: String
        public let instance: String?
        public let source: String?
    }

    public struct MerchantScope: Sendable {
        public let merchant: String
        /// Card (`pm_…`) → its reads in clear, oldest first.
        public var readInClear: [String: [Read]] = [:]
        public var securityCodesInReach: Set<String> = []
        public var ciphertextOnly = 0
        /// Payment records with personal data (with a database copy): `pi_…`/`pm_…` → the
        /// fields held (`name`, `email`, `phone`).
        public var personalData: [String: [String]] = [:]
    }

    public struct Result: Sendable {
        public let query: Query
        public let verification: LedgerReport
        /// The latest signed checkpoint the answer rests on.
        public let checkpoint: Checkpoint?
        public let merchants: [MerchantScope]

        /// Exact only when the ledger verified up to its latest signed checkpoint.
        public var exact: Bool { verification.isClean && checkpoint != nil }
    }

    let database: KessaiDatabase
    let ledger: Ledger
    let verifier: LedgerVerifier
    /// Rows read per page (the ledger is streamed, never loaded whole).
    let page: Int

    public init(database: KessaiDatabase, ledger: Ledger, verifier: LedgerVerifier, page: Int = 20_000) {
        self.database = database
        self.ledger = ledger
        self.verifier = verifier
        self.page = page
    }

    public func compute(_ query: Query) async throws -> Result {
        try await ledger.sequenceAll()
        // Verification reads every entry and the streams below read the window's: independent
        // reads, so they run side by side; the answer waits for both.
        let checkpoint = try await ledger.checkpoints().last
        async let verification = verifier.verify()
        var merchants: [String: MerchantScope] = [:]

        // Read in clear: the suspect's decrypts in the window.
        try await stream(actions: ["vault.decrypt"], from: query.from, to: query.to, narrowedBy: query) { seq, entry in
            guard query.names(entry), let token = entry.objects["token"], let merchant = entry.objects["merchant"] else { return }
            // In place: a copy of the merchant's scope would copy its dictionary on every read.
            merchants[merchant, default: MerchantScope(merchant: merchant)].readInClear[token, default: []].append(
                Read(
                    seq: seq, time: entry.time, purpose: entry.purpose, paymentIntent: entry.objects["payment_intent"],
                    actor: "\(entry.actor.kind.rawValue):\(entry.actor.id)", instance: entry.instance, source: entry.source))
        }
        // Security codes in reach: tokenized through the suspect up to 10 minutes before the
        // window (a code's longest life) or in it, and not consumed or destroyed before it began.
        let lifetime: Int64 = 600_000
        var tokenized: [String: String] = [:]
        try await stream(actions: ["vault.tokenize"], from: query.from - lifetime, to: query.to, narrowedBy: query) { seq, entry in
            guard query.names(entry), let token = entry.objects["token"], let merchant = entry.objects["merchant"] else { return }
            tokenized[token] = merchant
            // A card tokenized through the suspect in the window passed through it in clear.
            guard entry.time >= query.from else { return }
            merchants[merchant, default: MerchantScope(merchant: merchant)].readInClear[token, default: []].append(
                Read(
                    seq: seq, time: entry.time, purpose: "tokenization", paymentIntent: nil, actor: "\(entry.actor.kind.rawValue):\(entry.actor.id)",
                    instance: entry.instance, source: entry.source))
        }
        if !tokenized.isEmpty {
            try await stream(actions: ["vault.cvc_consumed", "vault.cvc_destroyed"], from: query.from - lifetime, to: query.from) { _, entry in
                if let token = entry.objects["token"] { tokenized[token] = nil }
            }
            for (token, merchant) in tokenized {
                merchants[merchant, default: MerchantScope(merchant: merchant)].securityCodesInReach.insert(token)
            }
        }
        // Ciphertext only: every other card stored by the window's end, counted by the database
        // per merchant, less the cards read in clear among them (never a list of every card).
        // Stored before the window's (exclusive) end: `created_at` is whole seconds.
        let cutoff = (query.to + 999) / 1000
        let stored = try await database.withConnection { db in
            var select = db.select().column("merchant_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("vault_cards")
                .where("created_at", .lessThan, cutoff)
            if let only = query.merchant { select = select.where("merchant_id", .equal, only) }
            if let version = query.keyVersion { select = select.where("kek_version", .equal, Int(version) ?? -1) }
            return try await select.groupBy("merchant_id").all()
                .map { (try $0.decode(column: "merchant_id", as: String.self), try $0.decode(column: "n", as: Int.self)) }
        }
        for (merchant, count) in stored {
            let read = (merchants[merchant]?.readInClear.keys).map { $0.sorted() } ?? []
            var readAndStored = 0
            for start in stride(from: 0, to: read.count, by: 500) {
                let chunk = Array(read[start..<min(start + 500, read.count)])
                readAndStored += try await database.withConnection { db in
                    var select = db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("vault_cards")
                        .where("merchant_id", .equal, merchant).where("created_at", .lessThan, cutoff).where("token", .in, chunk)
                    if let version = query.keyVersion { select = select.where("kek_version", .equal, Int(version) ?? -1) }
                    return try await select.first()?.decode(column: "n", as: Int.self) ?? 0
                }
            }
            merchants[merchant, default: MerchantScope(merchant: merchant)].ciphertextOnly = count - readAndStored
        }
        for (merchant, found) in merchants {
            var sorted = found
            for (token, reads) in found.readInClear { sorted.readInClear[token] = reads.sorted { $0.seq < $1.seq } }
            merchants[merchant] = sorted
        }
        if query.databaseCopy { try await personalData(query, into: &merchants) }
        let report = try await verification
        return Result(
            query: query, verification: report, checkpoint: checkpoint,
            merchants: merchants.values.filter {
                !$0.readInClear.isEmpty || !$0.securityCodesInReach.isEmpty || $0.ciphertextOnly > 0 || !$0.personalData.isEmpty
            }
            .sorted { $0.merchant < $1.merchant })
    }

    /// Every cash payment's billing details and every card's billing name stored by the window's
    /// end (which fields, never their values).
    func personalData(_ query: Query, into merchants: inout [String: MerchantScope]) async throws {
        // Stored before the window's (exclusive) end: `created_at` is whole seconds.
        let cutoff = (query.to + 999) / 1000
        let cash = try await database.withConnection { db in
            try await db.select().columns("merchant_id", "payment_intent_id", "billing").from("cash_payments").where("created_at", .lessThan, cutoff).all()
        }
        let cards = try await database.withConnection { db in
            try await db.select().columns("merchant_id", "id", "billing_details").from("payment_methods").where("created_at", .lessThan, cutoff).all()
        }
        let rows = cash + cards
        for row in rows {
            let merchant = try row.decode(column: "merchant_id", as: String.self)
            if let only = query.merchant, merchant != only { continue }
            let id = try (try? row.decode(column: "payment_intent_id", as: String.self)) ?? row.decode(column: "id", as: String.self)
            let text = (try? row.decode(column: "billing", as: String.self)) ?? (try? row.decode(column: "billing_details", as: String.self)) ?? ""
            let fields = ["name", "email", "phone"].filter { text.contains("\"\($0)\":\"") }
            guard !fields.isEmpty else { continue }
            var found = merchants[merchant] ?? MerchantScope(merchant: merchant)
            found.personalData[id] = fields
            merchants[merchant] = found
        }
    }

    /// The sequenced entries with one of `actions` in a window, a page at a time, in time order.
    /// With `narrowedBy`, the database skips rows that cannot name the suspect (by the indexed
    /// columns, and by a `LIKE` on the body for what only the body holds); every row it returns
    /// is still checked exactly by ``Query/names(_:)``.
    func stream(actions: [String], from: Int64, to: Int64, narrowedBy query: Query? = nil, _ visit: (Int, LedgerEntry) throws -> Void) async throws {
        // Pages in (time, seq) order, each starting after the last row of the one before: the
        // time index serves every page from where the last ended (ordering by seq alone would
        // re-read the window up to the cursor for every page).
        var after: (time: Int64, seq: Int)? = nil
        let patterns = query.map(Self.bodyPatterns) ?? []
        while true {
            let cursor = after
            let rows = try await database.withConnection { db in
                var select = db.select().columns("seq", "time", "body").from("ledger_entries").where("action", .in, actions)
                    .where("time", .greaterThanOrEqual, max(from, cursor?.time ?? from)).where("time", .lessThan, to)
                if let cursor {
                    select = select.where { group in
                        group.where("time", .greaterThan, cursor.time).orWhere { same in
                            same.where("time", .equal, cursor.time).where("seq", .greaterThan, cursor.seq)
                        }
                    }
                }
                if let actor = query?.actor { select = select.where("actor_id", .equal, actor) }
                if let merchant = query?.merchant { select = select.where("merchant_id", .equal, merchant) }
                for pattern in patterns { select = select.where(SQLColumn("body"), .like, SQLBind(pattern)) }
                return try await select.orderBy("time").orderBy("seq").limit(page).all()
                    .map {
                        (
                            try $0.decode(column: "seq", as: Int.self), try $0.decode(column: "time", as: Int64.self),
                            try $0.decode(column: "body", as: String.self)
                        )
                    }
            }
            for (seq, _, body) in rows {
                if let entry = LedgerEntry(canonical: body) { try visit(seq, entry) }
            }
            guard let last = rows.last, rows.count == page else { return }
            after = (last.1, last.0)
        }
    }

    /// `LIKE` patterns a body naming the suspect must match: its canonical member, between
    /// wildcards. Unescaped, `%` and `_` in a value only widen the match; a value whose JSON form
    /// has a backslash (an escape character to PostgreSQL's `LIKE`) gets no pattern.
    static func bodyPatterns(_ query: Query) -> [String] {
        [("instance", query.instance), ("source", query.sourceAddress), ("key_version", query.keyVersion)].compactMap { name, value in
            guard let value else { return nil }
            let member = "\"\(name)\":" + JSONValue.string(value).serialized()
            return member.contains("\\") ? nil : "%" + member + "%"
        }
    }
}
