import ArgumentParser
import Crypto
import Foundation
import HTTP
import KessaiCore
import Ledger
import Merchants
import Response
import Sentinel

struct IncidentResponseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Breach response: which cards a suspect reached, from the verified ledger.",
        subcommands: [Scope.self, Report.self, Watch.self, RecipientKey.self, OpenExport.self])

    /// The window and the suspect of a scope.
    struct SuspectOptions: ParsableArguments {
        @Option(help: "Start (inclusive): ISO 8601 or Unix seconds.") var from: String
        @Option(help: "End (exclusive): ISO 8601 or Unix seconds.") var to: String
        @Option(help: "Only reads by this process (its --instance name).") var instance: String?
        @Option(help: "Only reads by processes on this host.") var host: String?
        @Option(help: "Only reads by this actor id (an API key, an operator).") var actor: String?
        @Option(help: "Only this merchant's cards.") var merchant: String?
        @Option(name: .customLong("source-address"), help: "Only reads requested from this address.") var sourceAddress: String?
        @Option(name: .customLong("key-version"), help: "Only cards under this key-encryption key version.") var keyVersion: String?

        func query() throws -> ExposureScope.Query {
            guard let start = LedgerCommand.Query.time(from), let end = LedgerCommand.Query.time(to), start < end else {
                throw ValidationError("--from and --to must be ISO 8601 times or Unix seconds, --from before --to")
            }
            for value in [instance, host, actor, merchant, sourceAddress, keyVersion].compactMap({ $0 }) where value.utf8.count > 128 {
                throw ValidationError("filters are at most 128 bytes")
            }
            var query = ExposureScope.Query(from: start, to: end)
            query.instance = instance
            query.host = host
            query.actor = actor
            query.merchant = merchant
            query.sourceAddress = sourceAddress
            query.keyVersion = keyVersion
            return query
        }
    }

    struct Scope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Exposure scope for a window and a suspect (process, host, actor, merchant, source address, key version): cards read in clear with each read, security codes in reach, cards stored as ciphertext only, and with --database-copy the records holding personal data; per merchant."
        )
        @OptionGroup var options: GatewayOptions
        @OptionGroup var suspect: SuspectOptions
        @Flag(name: .customLong("database-copy"), help: "Hypothesis: the database files were taken (lists every record with personal data).")
        var databaseCopy = false
        @Flag(help: "One JSON object.") var json = false
        @Flag(help: "CSV, one row per read in clear.") var csv = false

        func run() async throws {
            guard !(json && csv) else { throw ValidationError("choose --json or --csv") }
            var query = try suspect.query()
            query.databaseCopy = databaseCopy
            let result = try await options.withGateway { gateway in
                let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
                return try await ExposureScope(database: gateway.database, ledger: gateway.ledger, verifier: verifier).compute(query)
            }
            if json {
                say(ScopeReport.json(result).serialized())
            } else if csv {
                print(ScopeReport.csv(result), terminator: "")
            } else {
                say(
                    result.exact
                        ? "ledger verified (checkpoint size \(result.checkpoint?.size ?? 0)): the answer is exact" : "NOT EXACT: the ledger did not verify")
                for scope in result.merchants {
                    let reads = scope.readInClear.values.reduce(0) { $0 + $1.count }
                    say(
                        "\(scope.merchant): \(scope.readInClear.count) cards read in clear (\(reads) reads), \(scope.securityCodesInReach.count) security codes in reach, \(scope.ciphertextOnly) ciphertext only\(databaseCopy ? ", \(scope.personalData.count) records with personal data" : "")"
                    )
                }
            }
            if !result.exact { throw ExitCode(2) }
        }
    }
}

extension IncidentResponseCommand {
    struct RecipientKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recipient-key",
            abstract: "Make a key pair for receiving the card brands' file: PREFIX.key (private, mode 0600) and PREFIX.pub (base64, give it to the operators).")
        @Option(help: "Path prefix of the two files.") var out: String

        func run() async throws {
            let key = Curve25519.KeyAgreement.PrivateKey()
            guard !FileManager.default.fileExists(atPath: out + ".key") else { throw ValidationError("\(out).key exists") }
            FileManager.default.createFile(
                atPath: out + ".key", contents: Data(key.rawRepresentation.base64EncodedString().utf8), attributes: [.posixPermissions: 0o600])
            try Data(key.publicKey.rawRepresentation.base64EncodedString().utf8).write(to: URL(fileURLWithPath: out + ".pub"))
            say("private key: \(out).key (keep it off Kessai's hosts)\npublic key:  \(out).pub\n\(key.publicKey.rawRepresentation.base64EncodedString())")
        }
    }

    struct OpenExport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open-export", abstract: "Open the card brands' file with the recipient's private key; prints its CSV.")
        @Argument(help: "The sealed file (kessai-cards-….hpke.json).") var file: String
        @Option(name: .customLong("private-key"), help: "The recipient's private key file (from recipient-key).") var privateKey: String

        func run() async throws {
            guard let sealed = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            guard let text = FileManager.default.contents(atPath: privateKey).map({ String(decoding: $0, as: UTF8.self) }),
                let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
                let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
            else { throw ValidationError("\(privateKey) is not a recipient private key") }
            do {
                print(try CardExport.open(sealed, privateKey: key), terminator: "")
            } catch CardExport.Failure.wrongKey {
                throw ValidationError("this key does not open \(file)")
            } catch {
                throw ValidationError("\(file) is not a card export")
            }
        }
    }
}

extension IncidentResponseCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Draft what people are told, from the scope: per merchant the affected payments (CSV, JSON) and the customer letter (Japanese, English); the report to the Personal Information Protection Commission (速報, 確報) with due dates; the incident's timeline. Writes files into --out."
        )
        @OptionGroup var options: GatewayOptions
        @OptionGroup var suspect: SuspectOptions
        @Option(help: "The sentinel incident (inc_…): its detection time starts the due dates, its steps make the timeline.") var incident: String?
        @Flag(name: .customLong("unauthorized-access"), help: "The leak came from unauthorized access (確報 due in 60 days instead of 30).")
        var unauthorizedAccess = false
        @Option(help: "The contact window printed in the letters.") var contact = "[お問い合わせ窓口 / contact: phone, hours, e-mail]"
        @Option(help: "The folder to write into (created).") var out: String

        func run() async throws {
            let query = try suspect.query()
            let (start, end) = (query.from, query.to)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try await options.withGateway { gateway in
                let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
                let scope = try await ExposureScope(database: gateway.database, ledger: gateway.ledger, verifier: verifier).compute(query)
                let payments = try await Notices.payments(scope, database: gateway.database)
                let found = try await incident.asyncMap { try await gateway.incidents.find($0) } ?? nil
                if let incident, found == nil { throw ValidationError("no incident \(incident)") }
                let detected = found?.openedAt ?? Int64(Date().timeIntervalSince1970)
                func write(_ text: String, _ name: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: out + "/" + name)) }
                try write(ScopeReport.json(scope).serialized(), "scope.json")
                var cards = 0
                var codes = 0
                var personal = 0
                for merchant in scope.merchants {
                    cards += merchant.readInClear.count
                    codes += merchant.securityCodesInReach.count
                    personal += merchant.personalData.count
                    guard !merchant.readInClear.isEmpty else { continue }
                    try FileManager.default.createDirectory(atPath: out + "/" + merchant.merchant, withIntermediateDirectories: true)
                    let list = payments[merchant.merchant] ?? []
                    try write(Notices.csv(list), "\(merchant.merchant)/affected-payments.csv")
                    try write(Notices.json(list).serialized(), "\(merchant.merchant)/affected-payments.json")
                    let name = try await gateway.merchants.find(merchant.merchant)?.name ?? merchant.merchant
                    for japanese in [true, false] {
                        try write(
                            Notices.letter(
                                merchant: name, from: start, to: end, cards: merchant.readInClear.count, codes: !merchant.securityCodesInReach.isEmpty,
                                contact: contact, japanese: japanese), "\(merchant.merchant)/letter-\(japanese ? "ja" : "en").md")
                    }
                }
                let withCards = scope.merchants.filter { !$0.readInClear.isEmpty }.count
                for final in [false, true] {
                    try write(
                        Notices.commissionReport(
                            final: final, detectedAt: detected, unauthorizedAccess: unauthorizedAccess, scope: scope, merchants: withCards, people: cards,
                            codes: codes, personalData: personal), final ? "commission-final.md" : "commission-preliminary.md")
                }
                let facts = found.map {
                    Timeline.IncidentFacts(id: $0.id, kind: $0.kind, summary: $0.summary, openedAt: $0.openedAt, firstSeq: $0.firstSeq)
                }
                try write(try await Timeline.markdown(ledger: gateway.ledger, incident: facts, scope: scope), "timeline.md")
                say(
                    "drafts in \(out): \(withCards) merchants, \(cards) cards read in clear, \(codes) security codes in reach\(scope.exact ? "" : " — NOT EXACT: the ledger did not verify")"
                )
            }
        }

    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

extension IncidentResponseCommand {
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Put the cards a scope found read in clear on the exposure watch list: a later payment with one is flagged on its intent and charge (event payment_intent.card_watch_matched), or blocked where the merchant refuses watched cards (kessai merchants watch-policy). Needs a ledger that verifies."
        )
        @OptionGroup var options: GatewayOptions
        @OptionGroup var suspect: SuspectOptions
        @Option(help: "The incident that exposed them (inc_…), shown on flagged payments.") var incident: String?

        func run() async throws {
            let query = try suspect.query()
            if let incident, !(incident.hasPrefix("inc_") && incident.utf8.count <= 64) { throw ValidationError("--incident takes an inc_… id") }
            try await options.withGateway { gateway in
                if let incident, try await gateway.incidents.find(incident) == nil { throw ValidationError("no incident \(incident)") }
                let verifier = LedgerVerifier(database: gateway.database, publicKey: try gateway.keySource.checkpointPublicKey())
                let scope = try await ExposureScope(database: gateway.database, ledger: gateway.ledger, verifier: verifier).compute(query)
                guard scope.exact else {
                    say("NOT EXACT: the ledger did not verify; nothing listed (find out why with kessai ledger verify)")
                    throw ExitCode(2)
                }
                let list = WatchList(database: gateway.database, ledger: gateway.ledger, clock: gateway.clock)
                let listing = try await list.add(scope, incident: incident, actor: MerchantStore.localOperator)
                say("watch list: \(listing.added) cards added, \(listing.alreadyListed) already listed, \(try await list.count()) in all")
            }
        }
    }
}
