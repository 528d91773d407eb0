import Crypto
public import Foundation
import KessaiCore
import SQLKit
import Storage

/// Export of closed segments for long-term retention (PCI DSS 10.5.1: 12 months kept, the last
/// 3 immediately available).
///
/// A segment is the entries between two positions, closed by a signed checkpoint at its end. Its
/// file holds, one JSON object a line: a header with the compact range (subtree roots) before
/// the first entry, every entry with its leaf hash, and the closing checkpoint. Anyone with the
/// checkpoint public key can verify a file alone: rebuild the tree from the header's range and
/// the entries and compare with the signed root. Files chain: a segment's starting range must
/// have the root of the previous segment's closing checkpoint.
///
/// Pruning removes an exported segment from the database and keeps its end state in
/// `ledger_segments`, from which the verifier continues.
public struct LedgerRetention: Sendable {
    let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    /// How long entries stay online at least.
    public static let onlineDays = 90

    /// What an export produced.
    public struct Segment: Sendable, Equatable {
        public let start: Int
        public let end: Int
        public let file: String
        public let sha256: String
    }

    /// Exports (and optionally prunes) the closed segment of entries older than `cutoff`.
    /// - Parameters:
    ///   - cutoff: only entries strictly older are exported.
    ///   - directory: where the file goes.
    ///   - prune: delete the exported entries; refused for anything younger than ``onlineDays``.
    ///   - now: the current time, for the online window.
    ///   - actor: who exports, for the ledger entry this writes.
    /// - Returns: the segment, or `nil` when no checkpoint closes an old enough range.
    public func export(before cutoff: Date, to directory: String, prune: Bool, now: Date, actor: LedgerActor) async throws -> Segment? {
        if prune, cutoff > now.addingTimeInterval(-Double(Self.onlineDays) * 86_400) {
            throw LedgerError.badRange("entries younger than \(Self.onlineDays) days stay online; choose an earlier cutoff to prune")
        }
        let cutoffMillis = Int64(cutoff.timeIntervalSince1970 * 1000)
        let database = ledger.database
        // Where the online log starts, and the tree state there.
        let (start, startRange, _) = try await onlineStart()
        // The first entry at or after the cutoff bounds the segment; the largest checkpoint at or
        // below it closes it.
        let firstYoung = try await database.withConnection { db in
            try await db.select().column("seq").from("ledger_entries").where("time", .greaterThanOrEqual, cutoffMillis)
                .orderBy("seq").first()?.decode(column: "seq", as: Int.self)
        }
        let head = try await ledger.head().size
        let bound = firstYoung ?? head
        guard let closing = try await ledger.checkpoints().last(where: { $0.size > start && $0.size <= bound }) else { return nil }
        let rows = try await database.withConnection { db in
            try await db.select().columns("seq", "body", "leaf_hash", "chain_hash").from("ledger_entries")
                .where("seq", .greaterThanOrEqual, start).where("seq", .lessThan, closing.size).orderBy("seq").all()
        }
        guard rows.count == closing.size - start else { throw LedgerError.badRange("entries \(start)..<\(closing.size) are not all online") }
        var lines: [String] = [
            JSONValue.object([
                ("format", "kessai-ledger-segment/1"), ("start", .int(Int64(start))), ("end", .int(Int64(closing.size))),
                ("range_before", .string(startRange.packed.base64EncodedString())),
            ]).serialized()
        ]
        var range = startRange
        var chainAfter = Data()
        for row in rows {
            chainAfter = try row.decode(column: "chain_hash", as: Data.self)
            let seq = try row.decode(column: "seq", as: Int.self)
            let body = try row.decode(column: "body", as: String.self)
            let leaf = try row.decode(column: "leaf_hash", as: Data.self)
            range.append(leaf)
            lines.append(
                JSONValue.object([("seq", .int(Int64(seq))), ("entry", .string(body)), ("leaf_hash", .string(leaf.base64EncodedString()))]).serialized())
        }
        // Never export what does not verify: the signed root must match.
        guard range.root == closing.root else {
            throw LedgerError.badRange("the entries up to \(closing.size) do not match their signed checkpoint; run kessai ledger verify")
        }
        lines.append(JSONValue.object([("checkpoint", .string(closing.jsonLine))]).serialized())
        let text = lines.joined(separator: "\n") + "\n"
        let name = "ledger-segment-\(String(format: "%012d", start))-\(String(format: "%012d", closing.size)).jsonl"
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw LedgerError.badRange("cannot write \(path)")
        }
        let digest = Hex.encode(SHA256.hash(data: Data(text.utf8)))
        let segment = Segment(start: start, end: closing.size, file: path, sha256: digest)
        let endRange = range
        let endChain = chainAfter
        try await database.transaction { db in
            if prune {
                try await db.insert(into: "ledger_segments")
                    .columns("start_seq", "end_seq", "frontier_after", "chain_after", "file_name", "file_sha256", "exported_at")
                    .values(
                        SQLBind(start), SQLBind(closing.size), SQLBind(endRange.packed), SQLBind(endChain), SQLBind(name), SQLBind(digest),
                        SQLBind(now.unixSeconds)
                    ).run()
                try await db.delete(from: "ledger_entries").where("seq", .lessThan, closing.size).run()
            }
            try await ledger.record(
                LedgerEntry(
                    time: now, actor: actor, action: "ledger.export",
                    objects: ["start": String(start), "end": String(closing.size), "file": name, "sha256": digest, "pruned": String(prune)]),
                on: db)
        }
        return segment
    }

    /// The first online position, the tree state and the chain link just before it (after the last pruned segment).
    public func onlineStart() async throws -> (Int, CompactRange, Data) {
        try await ledger.database.withConnection { db in
            guard
                let row = try await db.select().columns("end_seq", "frontier_after", "chain_after").from("ledger_segments")
                    .orderBy("end_seq", .descending).first()
            else {
                return (0, CompactRange(), Data())
            }
            let end = try row.decode(column: "end_seq", as: Int.self)
            guard let range = CompactRange(size: end, packed: try row.decode(column: "frontier_after", as: Data.self)) else {
                throw LedgerError.corruptState("ledger_segments' range at \(end) is malformed")
            }
            return (end, range, try row.decode(column: "chain_after", as: Data.self))
        }
    }

    /// Verifies exported segment files, alone or as a chain (in order).
    /// - Returns: findings; empty when every file verifies and each starts where the previous ended.
    public static func verify(files: [String], publicKey: Data) -> [LedgerFinding] {
        var findings: [LedgerFinding] = []
        var previous: (end: Int, root: Data)?
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                findings.append(LedgerFinding(kind: .missingEntry, position: previous?.end ?? 0, detail: "\(file) cannot be read"))
                continue
            }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.count >= 2,
                let header = try? JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any],
                header["format"] as? String == "kessai-ledger-segment/1",
                let start = (header["start"] as? NSNumber)?.intValue, let end = (header["end"] as? NSNumber)?.intValue,
                let packed = (header["range_before"] as? String).flatMap({ Data(base64Encoded: $0) }),
                var range = CompactRange(size: start, packed: packed),
                let closingLine = try? JSONSerialization.jsonObject(with: Data(lines[lines.count - 1].utf8)) as? [String: Any],
                let checkpoint = (closingLine["checkpoint"] as? String).flatMap(Checkpoint.init(jsonLine:))
            else {
                findings.append(LedgerFinding(kind: .alteredEntry, position: previous?.end ?? 0, detail: "\(file) is not a segment file"))
                continue
            }
            if let previous {
                if previous.end != start {
                    findings.append(
                        LedgerFinding(
                            kind: .missingEntry, position: previous.end, detail: "\(file) starts at \(start), the previous segment ended at \(previous.end)"))
                } else if range.root != previous.root {
                    findings.append(LedgerFinding(kind: .checkpointMismatch, position: start, detail: "\(file) does not continue the previous segment's tree"))
                }
            }
            if !checkpoint.verify(publicKey: publicKey) {
                findings.append(LedgerFinding(kind: .badSignature, position: checkpoint.size, detail: "\(file): its checkpoint does not verify"))
            }
            var expected = start
            for line in lines.dropFirst().dropLast() {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let seq = (object["seq"] as? NSNumber)?.intValue, let body = object["entry"] as? String
                else {
                    findings.append(LedgerFinding(kind: .alteredEntry, position: expected, detail: "\(file): unreadable line"))
                    continue
                }
                if seq != expected { findings.append(LedgerFinding(kind: .missingEntry, position: expected, detail: "\(file): next line is position \(seq)")) }
                let leaf = Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: Int64(seq)))
                if (object["leaf_hash"] as? String).flatMap({ Data(base64Encoded: $0) }) != leaf || LedgerEntry(canonical: body) == nil {
                    findings.append(LedgerFinding(kind: .alteredEntry, position: seq, detail: "\(file): the entry does not match its leaf"))
                }
                range.append(leaf)
                expected = seq + 1
            }
            if range.size != end || checkpoint.size != end || range.root != checkpoint.root {
                findings.append(
                    LedgerFinding(kind: .checkpointMismatch, position: start, detail: "\(file): entries \(start)..<\(end) do not have the signed root"))
            }
            previous = (end, checkpoint.root)
        }
        return findings
    }
}
