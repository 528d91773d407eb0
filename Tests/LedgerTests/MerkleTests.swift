import Crypto
import Foundation
import KessaiCore
import KessaiTestSupport
import Testing

@testable import Ledger

/// Known-answer tests from the transparency-dev/merkle project's reference tests (RFC 6962 /
/// RFC 9162 hashing), over its eight reference leaves.
enum Vectors {
    static let leaves: [Data] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(hex)
    static let leafHashes = leaves.map { Merkle.leafHash($0) }

    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(hex)

    static let inclusion: [(size: Int, index: Int, proof: [String])] = [
        (1, 0, []),
        (2, 0, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
        (2, 1, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
        (3, 2, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            5, 1,
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        ),
        (
            8, 0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        ),
        (
            8, 5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        ),
    ]

    static let consistency: [(old: Int, new: Int, proof: [String])] = [
        (1, 1, []),
        (
            1, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        ),
        (
            2, 5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        ),
        (
            6, 8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        ),
    ]

    static func hex(_ text: String) -> Data {
        var data = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            data.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return data
    }
}

/// RFC 9162's recursive definition, as the reference the iterative code is checked against.
func referenceRoot(_ leaves: ArraySlice<Data>) -> Data {
    if leaves.isEmpty { return Merkle.emptyRoot }
    if leaves.count == 1 { return leaves[leaves.startIndex] }
    var k = 1
    while k << 1 < leaves.count { k <<= 1 }
    return Merkle.nodeHash(referenceRoot(leaves.prefix(k)), referenceRoot(leaves.dropFirst(k)))
}

@Suite("Merkle tree (RFC 9162) against published test vectors")
struct MerkleTests {
    @Test("roots of the reference trees of sizes 1 to 8")
    func roots() {
        #expect(Merkle.emptyRoot == Vectors.hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        for size in 1...8 {
            #expect(Merkle.root(Vectors.leafHashes.prefix(size)) == Vectors.roots[size - 1], "size \(size)")
        }
    }

    @Test("inclusion proofs are generated as published, verify, and fail when altered")
    func inclusion() {
        for vector in Vectors.inclusion {
            let leaves = Vectors.leafHashes.prefix(vector.size)
            let proof = Merkle.inclusionProof(index: vector.index, leaves: leaves[...])
            #expect(proof == vector.proof.map(Vectors.hex), "size \(vector.size) index \(vector.index)")
            let root = Vectors.roots[vector.size - 1]
            let leaf = Vectors.leafHashes[vector.index]
            #expect(Merkle.verifyInclusion(index: vector.index, size: vector.size, leafHash: leaf, proof: proof, root: root))
            // Every kind of lie fails.
            #expect(!Merkle.verifyInclusion(index: vector.index, size: vector.size, leafHash: Merkle.leafHash(Data([0xff])), proof: proof, root: root))
            #expect(!Merkle.verifyInclusion(index: vector.index, size: vector.size, leafHash: leaf, proof: proof, root: Vectors.roots[(vector.size) % 8]))
            if vector.size > 1 {
                #expect(!Merkle.verifyInclusion(index: (vector.index + 1) % vector.size, size: vector.size, leafHash: leaf, proof: proof, root: root))
            }
            #expect(!Merkle.verifyInclusion(index: vector.index, size: vector.size, leafHash: leaf, proof: proof + [root], root: root))
            for position in proof.indices {
                var bad = proof
                bad[position][0] ^= 1
                #expect(!Merkle.verifyInclusion(index: vector.index, size: vector.size, leafHash: leaf, proof: bad, root: root))
            }
        }
    }

    @Test("consistency proofs are generated as published, verify, and fail when altered")
    func consistency() {
        for vector in Vectors.consistency {
            let proof = Merkle.consistencyProof(oldSize: vector.old, leaves: Vectors.leafHashes.prefix(vector.new)[...])
            #expect(proof == vector.proof.map(Vectors.hex), "\(vector.old) → \(vector.new)")
            let oldRoot = Vectors.roots[vector.old - 1]
            let newRoot = Vectors.roots[vector.new - 1]
            #expect(Merkle.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: proof))
            if vector.old != vector.new {
                #expect(!Merkle.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: newRoot, newRoot: newRoot, proof: proof))
                for position in proof.indices {
                    var bad = proof
                    bad[position][31] ^= 0x80
                    #expect(!Merkle.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: bad))
                }
            }
        }
    }

    @Test("every proof between sizes up to 40 verifies; the compact range matches the recursive root")
    func exhaustive() {
        let leaves = (0..<40).map { Merkle.leafHash(Data("entry \($0)".utf8)) }
        var range = CompactRange()
        for size in 1...40 {
            range.append(leaves[size - 1])
            let root = referenceRoot(leaves.prefix(size))
            #expect(range.root == root)
            #expect(CompactRange(size: size, packed: range.packed) == range)
            for index in 0..<size {
                let proof = Merkle.inclusionProof(index: index, leaves: leaves.prefix(size))
                #expect(Merkle.verifyInclusion(index: index, size: size, leafHash: leaves[index], proof: proof, root: root))
            }
            for old in 1...size {
                let proof = Merkle.consistencyProof(oldSize: old, leaves: leaves.prefix(size))
                #expect(Merkle.verifyConsistency(oldSize: old, newSize: size, oldRoot: referenceRoot(leaves.prefix(old)), newRoot: root, proof: proof))
            }
        }
        #expect(CompactRange(size: 3, packed: Data(count: 32)) == nil)
    }

    @Test("checkpoints verify under their key only, and any changed field breaks them")
    func checkpoints() throws {
        struct Signer: CheckpointSigner {
            let key = Curve25519.Signing.PrivateKey()
            func signCheckpoint(_ message: Data) throws -> Data { try key.signature(for: message) }
            func checkpointPublicKey() throws -> Data { key.publicKey.rawRepresentation }
        }
        let signer = Signer()
        let checkpoint = try Checkpoint.sign(size: 8, root: Vectors.roots[7], time: 1_795_000_000_000, signer: signer)
        let publicKey = try signer.checkpointPublicKey()
        #expect(checkpoint.verify(publicKey: publicKey))
        #expect(Checkpoint(jsonLine: checkpoint.jsonLine) == checkpoint)
        #expect(
            !Checkpoint(size: 7, root: checkpoint.root, time: checkpoint.time, signature: checkpoint.signature, keyID: checkpoint.keyID).verify(
                publicKey: publicKey))
        #expect(
            !Checkpoint(size: 8, root: Vectors.roots[6], time: checkpoint.time, signature: checkpoint.signature, keyID: checkpoint.keyID).verify(
                publicKey: publicKey))
        #expect(
            !Checkpoint(size: 8, root: checkpoint.root, time: checkpoint.time + 1, signature: checkpoint.signature, keyID: checkpoint.keyID).verify(
                publicKey: publicKey))
        #expect(!checkpoint.verify(publicKey: try Signer().checkpointPublicKey()))
    }

    @Test("entries have one canonical form, and it round-trips")
    func canonical() throws {
        let entry = LedgerEntry(
            time: Date(timeIntervalSince1970: 1_795_000_000.5), actor: LedgerActor(.merchantKey, "key_abc"), action: "vault.decrypt",
            objects: ["token": "pm_1", "merchant": "acct_1", "key_version": "2"], purpose: "authorization", requestID: "req_1", source: "127.0.0.1")
        #expect(
            entry.canonical
                == #"{"action":"vault.decrypt","actor":{"id":"key_abc","kind":"merchant_key"},"objects":{"key_version":"2","merchant":"acct_1","token":"pm_1"},"outcome":"success","purpose":"authorization","request_id":"req_1","source":"127.0.0.1","time":1795000000500}"#
        )
        #expect(LedgerEntry(canonical: entry.canonical) == entry)
        #expect(LedgerEntry(canonical: entry.canonical.replacingOccurrences(of: ":", with: " : ")) == nil)
        #expect(LedgerEntry(canonical: "{}") == nil)
        // Same content, other spellings: not canonical, so refused.
        let unsorted = entry.canonical.replacingOccurrences(
            of: #""objects":{"key_version":"2","merchant":"acct_1","token":"pm_1"}"#, with: #""objects":{"token":"pm_1","merchant":"acct_1","key_version":"2"}"#
        )
        #expect(unsorted != entry.canonical && LedgerEntry(canonical: unsorted) == nil)
        #expect(LedgerEntry(canonical: entry.canonical.replacingOccurrences(of: "vault.decrypt", with: #"vault.\u0064ecrypt"#)) == nil)
        #expect(LedgerEntry(canonical: entry.canonical.replacingOccurrences(of: #""kind":"merchant_key"}"#, with: #""kind":"merchant_key","x":"y"}"#)) == nil)
        #expect(LedgerEntry(canonical: entry.canonical.replacingOccurrences(of: "1795000000500", with: "01795000000500")) == nil)
        let quoted = LedgerEntry(time: .testNow, actor: LedgerActor(.operator, #"O"Brien <ops>"#), action: "merchant.created")
        #expect(LedgerEntry(canonical: quoted.canonical) == quoted)
    }

    @Test("the verifier's fast path agrees with the full parser on every entry and every mutation of it")
    func fastPathAgrees() throws {
        let entries = [
            LedgerEntry(
                time: Date(timeIntervalSince1970: 1_795_000_000.5), actor: LedgerActor(.merchantKey, "key_abc"), action: "vault.decrypt",
                objects: ["token": "pm_1", "merchant": "acct_1", "key_version": "2"], purpose: "authorization", requestID: "req_1", source: "127.0.0.1"),
            LedgerEntry(time: .testNow, actor: LedgerActor(.system, "rotation"), action: "vault.key_rotated", objects: [:]),
            LedgerEntry(time: .testNow, actor: LedgerActor(.operator, #"O"Brien <ops>"#), action: "merchant.created", objects: ["merchant": "acct_2"]),
            LedgerEntry(time: .testNow, actor: LedgerActor(.anonymous, "203.0.113.9"), action: "auth.failure", objects: ["token": "pm_é"], requestID: "req_2"),
        ]
        var decided = 0
        for entry in entries {
            let body = entry.canonical
            let columns = TextColumns(
                time: entry.time, actorKind: entry.actor.kind.rawValue, actorID: entry.actor.id, action: entry.action, merchant: entry.objects["merchant"],
                token: entry.objects["token"], requestID: entry.requestID)
            let verdict = fastCheck(body, columns)
            #expect(verdict != .columnsDiffer)
            if verdict == .matches { decided += 1 }
            // Every column changed, or dropped, is noticed.
            let changed = [
                TextColumns(
                    time: entry.time + 1, actorKind: columns.actorKind, actorID: columns.actorID, action: columns.action, merchant: columns.merchant,
                    token: columns.token, requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: "system", actorID: columns.actorID, action: columns.action, merchant: columns.merchant, token: columns.token,
                    requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: columns.actorKind, actorID: (columns.actorID ?? "") + "x", action: columns.action, merchant: columns.merchant,
                    token: columns.token, requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: columns.actorKind, actorID: columns.actorID, action: "vault.tokenize", merchant: columns.merchant,
                    token: columns.token, requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: columns.actorKind, actorID: columns.actorID, action: columns.action, merchant: "acct_other",
                    token: columns.token, requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: columns.actorKind, actorID: columns.actorID, action: columns.action, merchant: columns.merchant,
                    token: columns.token == nil ? "pm_x" : nil, requestID: columns.requestID),
                TextColumns(
                    time: entry.time, actorKind: columns.actorKind, actorID: columns.actorID, action: columns.action, merchant: columns.merchant,
                    token: columns.token, requestID: columns.requestID == nil ? "req_x" : nil),
            ]
            for other in changed where entry.actor.kind != .system || other.actorKind != "system" {
                #expect(fastCheck(body, other) != .matches)
            }
            // A body the full parser refuses is never passed by the fast path.
            let bytes = Array(body.utf8)
            for index in bytes.indices {
                for replacement: UInt8 in [0x20, UInt8(ascii: "0"), UInt8(ascii: "\\"), UInt8(ascii: "}"), UInt8(ascii: ","), 0xC3] {
                    var mutated = bytes
                    mutated[index] = replacement
                    let text = String(decoding: mutated, as: UTF8.self)
                    if fastCheck(text, columns) != .undecided {
                        #expect(LedgerEntry(canonical: text) != nil, "fast path decided on a body the full parser refuses: \(text)")
                    }
                }
                var shorter = bytes
                shorter.remove(at: index)
                let text = String(decoding: shorter, as: UTF8.self)
                if fastCheck(text, columns) != .undecided {
                    #expect(LedgerEntry(canonical: text) != nil, "fast path decided on a body the full parser refuses: \(text)")
                }
            }
            // The leaf hash is the same as over the built leaf bytes.
            var text = body
            #expect(text.withUTF8 { CanonicalCheck.leafHash(canonical: $0, seq: 41) }.data == Merkle.leafHash(LedgerEntry.leafBytes(canonical: body, seq: 41)))
        }
        // The plain entries took the fast path; the escaped and non-ASCII ones fell back.
        #expect(decided == 2)
    }

    /// Query columns as strings, for building cases.
    struct TextColumns {
        var time: Int64?
        var actorKind, actorID, action, merchant, token, requestID: String?
    }

    /// The fast path over strings: the columns laid out in one buffer, as a bulk read holds them.
    func fastCheck(_ body: String, _ columns: TextColumns) -> CanonicalCheck.Verdict {
        var storage: [UInt8] = []
        let ranges = [columns.actorKind, columns.actorID, columns.action, columns.merchant, columns.token, columns.requestID].map { text -> Range<Int>? in
            guard let text else { return nil }
            let start = storage.count
            storage += Array(text.utf8)
            return start..<storage.count
        }
        let bodyBytes = Array(body.utf8)
        return storage.withUnsafeBufferPointer { buffer in
            func column(_ index: Int) -> CanonicalCheck.Column { ranges[index].map { .text(UnsafeBufferPointer(rebasing: buffer[$0])) } ?? .null }
            let packed = CanonicalCheck.Columns(
                time: columns.time, actorKind: column(0), actorID: column(1), action: column(2), merchant: column(3), token: column(4), requestID: column(5))
            return bodyBytes.withUnsafeBufferPointer { CanonicalCheck.check($0, against: packed) }
        }
    }
}
