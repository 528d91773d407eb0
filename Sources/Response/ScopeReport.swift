public import KessaiCore
import Ledger

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The scope as one JSON object and as CSV (one row per read in clear). Card numbers are never
/// in it: cards are named by their tokens (`pm_…`).
public enum ScopeReport {
    static func iso(_ millis: Int64) -> String { Date(timeIntervalSince1970: TimeInterval(millis) / 1000).ISO8601Format() }

    /// Whether the answer is exact, in one sentence.
    public static func statement(_ result: ExposureScope.Result) -> String {
        result.exact
            ? "Computed over a ledger that verified up to its latest signed checkpoint; every listed read can be proven with `kessai ledger prove --seq N`."
            : "NOT EXACT: the ledger did not verify (see findings) or has no signed checkpoint; treat the lists as a lower bound and work from off-host checkpoint copies."
    }

    public static func json(_ result: ExposureScope.Result) -> JSONValue {
        let query = result.query
        var filters: [(String, JSONValue)] = []
        for (name, value) in [
            ("instance", query.instance), ("host", query.host), ("actor", query.actor), ("merchant", query.merchant),
            ("source_address", query.sourceAddress), ("key_version", query.keyVersion),
        ] {
            if let value { filters.append((name, .string(value))) }
        }
        let verification: JSONValue = .object([
            ("verified", .bool(result.verification.isClean)), ("size", .int(Int64(result.verification.size))),
            ("root", .string(Hex.encode(result.verification.root))),
            (
                "checkpoint",
                result.checkpoint.map { .object([("size", .int(Int64($0.size))), ("root", .string(Hex.encode($0.root))), ("time", .string(iso($0.time)))]) }
                    ?? nil
            ),
            (
                "findings",
                .array(result.verification.findings.prefix(20).map { .object([("kind", .string($0.kind.rawValue)), ("position", .int(Int64($0.position)))]) })
            ),
        ])
        let merchants: [JSONValue] = result.merchants.map { scope in
            .object([
                ("merchant", .string(scope.merchant)),
                (
                    "read_in_clear",
                    .array(
                        scope.readInClear.sorted { $0.key < $1.key }.map { token, reads in
                            .object([
                                ("payment_method", .string(token)),
                                (
                                    "reads",
                                    .array(
                                        reads.map { read in
                                            .object([
                                                ("time", .string(iso(read.time))), ("ledger_seq", .int(Int64(read.seq))), ("purpose", .optional(read.purpose)),
                                                ("payment_intent", .optional(read.paymentIntent)), ("actor", .string(read.actor)),
                                                ("instance", .optional(read.instance)), ("source", .optional(read.source)),
                                            ])
                                        })
                                ),
                            ])
                        })
                ),
                ("security_codes_in_reach", .array(scope.securityCodesInReach.sorted().map(JSONValue.string))),
                ("ciphertext_only", .object([("count", .int(Int64(scope.ciphertextOnly)))])),
                (
                    "personal_data",
                    query.databaseCopy
                        ? .array(
                            scope.personalData.sorted { $0.key < $1.key }.map {
                                .object([("record", .string($0.key)), ("fields", .array($0.value.map(JSONValue.string)))])
                            })
                        : nil
                ),
                (
                    "counts",
                    .object([
                        ("cards_read_in_clear", .int(Int64(scope.readInClear.count))),
                        ("reads", .int(Int64(scope.readInClear.values.reduce(0) { $0 + $1.count }))),
                        ("security_codes_in_reach", .int(Int64(scope.securityCodesInReach.count))), ("ciphertext_only", .int(Int64(scope.ciphertextOnly))),
                        ("records_with_personal_data", .int(Int64(scope.personalData.count))),
                    ])
                ),
            ])
        }
        return .object([
            ("exact", .bool(result.exact)),
            (
                "statement", .string(statement(result))
            ),
            ("ledger", verification),
            ("window", .object([("from", .string(iso(query.from))), ("to", .string(iso(query.to)))])),
            ("filters", .object(filters)),
            (
                "hypotheses",
                .object([
                    (
                        "read_in_clear",
                        "the suspect decrypted these card numbers, or they were tokenized through it (ledger vault.decrypt and vault.tokenize entries it wrote or that name it)"
                    ),
                    ("security_codes_in_reach", "codes the suspect held in memory during the window (tokenized through it, not yet used or destroyed)"),
                    ("ciphertext_only", "exposed only if the key-encryption key was also taken"),
                    (
                        "personal_data",
                        query.databaseCopy ? "the database files were taken: every record stored by the window's end" : "not computed (use --database-copy)"
                    ),
                ])
            ),
            ("merchants", .array(merchants)),
        ])
    }

    /// One CSV row per read in clear.
    public static func csv(_ result: ExposureScope.Result) -> String {
        var lines = ["merchant,payment_method,time,ledger_seq,purpose,payment_intent,actor,instance,source"]
        for scope in result.merchants {
            for (token, reads) in scope.readInClear.sorted(by: { $0.key < $1.key }) {
                for read in reads {
                    lines.append(
                        [
                            scope.merchant, token, iso(read.time), String(read.seq), read.purpose ?? "", read.paymentIntent ?? "", read.actor,
                            read.instance ?? "", read.source ?? "",
                        ]
                        .map { $0.contains(",") || $0.contains("\"") ? "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" : $0 }.joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
