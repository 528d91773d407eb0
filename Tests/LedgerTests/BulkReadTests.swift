import Crypto
import Foundation
import KessaiTestSupport
import Storage
import Testing

@testable import Ledger

@Suite("Bulk reads and inline hashes: the verifier's fast path agrees with the plain one")
struct BulkReadTests {
    @Test("a packed batch keeps every value with its type, on both engines", arguments: TestBackend.available)
    func types(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let database = test.gateway.database
            let batch =
                backend == .postgres
                ? try await database.readBatch(
                    "SELECT n::int8, 'row ' || n::text, decode('0102', 'hex'), NULL::text, 1.5::float8, ''::text FROM generate_series($1::int8, $2::int8) AS n",
                    [7, 9], columns: 6)
                : try await database.readBatch(
                    "WITH RECURSIVE s(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM s WHERE n < $2) SELECT n, 'row ' || n, X'0102', NULL, 1.5, '' FROM s",
                    [7, 9], columns: 6)
            #expect(batch.count == 3)
            batch.withView { view in
                for row in 0..<3 {
                    #expect(view.integer(row, 0) == Int64(7 + row))
                    #expect(view.type(row, 1) == .text)
                    #expect(view.bytes(row, 1).map { String(decoding: $0, as: UTF8.self) } == "row \(7 + row)")
                    #expect(view.type(row, 2) == .blob)
                    #expect(view.bytes(row, 2).map(Array.init) == [1, 2])
                    #expect(view.type(row, 3) == .null && view.bytes(row, 3) == nil && view.integer(row, 3) == nil)
                    #expect(view.type(row, 4) == .other && view.bytes(row, 4) == nil && view.integer(row, 4) == nil)
                    #expect(view.type(row, 5) == .text && view.bytes(row, 5)?.count == 0)
                    #expect(view.integer(row, 1) == nil, "text is not an integer")
                }
            }
            let empty = try await database.readBatch("SELECT seq FROM ledger_entries WHERE seq < $1", [0], columns: 1)
            #expect(empty.count == 0)
            await #expect(throws: BulkReadError.self) {
                _ = try await database.readBatch("SELECT 1, 2", [], columns: 3)
            }
        }
    }

    @Test("inline node, chain and leaf hashes equal the byte-array ones")
    func inlineHashes() throws {
        let leaves = (0..<20).map { Merkle.leafHash(Data("entry \($0)".utf8)) }
        var previous = Data()
        var previousInline: MerkleHash? = nil
        for (left, right) in zip(leaves, leaves.dropFirst()) {
            let l = try #require(MerkleHash(left))
            let r = try #require(MerkleHash(right))
            #expect(Merkle.nodeHash(l, r).data == Merkle.nodeHash(left, right))
            previous = Merkle.chain(previous, left)
            previousInline = Merkle.chain(previousInline, l)
            #expect(previousInline?.data == previous)
        }
        #expect(MerkleHash(Data(count: 31)) == nil && MerkleHash(Data(count: 33)) == nil)
        let body = #"{"action":"vault.tokenize","actor":{"id":"k","kind":"merchant_key"},"objects":{},"outcome":"success","time":1}"#
        for seq: Int64 in [0, 7, 9, 10, 99, 100, 123_456_789, .max, -1, .min] {
            var text = body
            let fast = text.withUTF8 { CanonicalCheck.leafHash(canonical: $0, seq: seq) }
            #expect(fast.data == Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: seq)), "seq \(seq)")
        }
    }
}
