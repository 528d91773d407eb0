import Crypto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Merkle tree hashing as Certificate Transparency defines it (RFC 9162, section 2.1):
/// leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right), and the tree over n
/// leaves splits at the largest power of two smaller than n.
public enum Merkle {
    /// The hash of the empty tree: SHA-256 of nothing.
    public static let emptyRoot = Data(SHA256.hash(data: Data()))

    /// The leaf hash of an entry.
    public static func leafHash(_ entry: some DataProtocol) -> Data {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: entry)
        return Data(hasher.finalize())
    }

    /// The hash of an interior node.
    public static func nodeHash(_ left: Data, _ right: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Data(hasher.finalize())
    }

    /// The next link of the position chain: SHA-256(0x02 ‖ previous ‖ leaf), with an empty
    /// previous link before the first entry. Not part of RFC 9162: the verifier uses it to pin a
    /// tampered entry to its position between checkpoints at one hash per entry.
    public static func chain(_ previous: Data, _ leaf: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: [0x02])
        hasher.update(data: previous)
        hasher.update(data: leaf)
        return Data(hasher.finalize())
    }

    /// The root over a list of leaf hashes (MTH of RFC 9162, iteratively).
    public static func root(_ leaves: some Collection<Data>) -> Data {
        var range = CompactRange()
        for leaf in leaves { range.append(leaf) }
        return range.root
    }

    /// Largest power of two strictly smaller than n (n ≥ 2).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The inclusion proof (audit path) of leaf `index` in the tree over `leaves` (RFC 9162 2.1.3.1).
    public static func inclusionProof(index: Int, leaves: ArraySlice<Data>) -> [Data] {
        guard leaves.count > 1 else { return [] }
        let k = split(leaves.count)
        let start = leaves.startIndex
        if index < k {
            return inclusionProof(index: index, leaves: leaves[start..<start + k]) + [root(leaves[(start + k)...])]
        }
        return inclusionProof(index: index - k, leaves: leaves[(start + k)...]) + [root(leaves[start..<start + k])]
    }

    /// Verifies an inclusion proof (RFC 9162 2.1.3.2).
    public static func verifyInclusion(index: Int, size: Int, leafHash: Data, proof: [Data], root: Data) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// The consistency proof between the first `oldSize` leaves and all of `leaves` (RFC 9162 2.1.4.1).
    public static func consistencyProof(oldSize: Int, leaves: ArraySlice<Data>) -> [Data] {
        guard oldSize > 0, oldSize < leaves.count else { return [] }
        return subproof(m: oldSize, leaves: leaves, complete: true)
    }

    private static func subproof(m: Int, leaves: ArraySlice<Data>, complete: Bool) -> [Data] {
        let n = leaves.count
        let start = leaves.startIndex
        if m == n { return complete ? [] : [root(leaves)] }
        let k = split(n)
        if m <= k {
            return subproof(m: m, leaves: leaves[start..<start + k], complete: complete) + [root(leaves[(start + k)...])]
        }
        return subproof(m: m - k, leaves: leaves[(start + k)...], complete: false) + [root(leaves[start..<start + k])]
    }

    /// Verifies a consistency proof (RFC 9162 2.1.4.2).
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: Data, newRoot: Data, proof: [Data]) -> Bool {
        guard oldSize > 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        var path = proof
        if oldSize & (oldSize - 1) == 0 {  // a power of two: the old root is the first node
            path.insert(oldRoot, at: 0)
        }
        guard !path.isEmpty else { return false }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == oldRoot && sr == newRoot
    }
}

/// A SHA-256 value held inline (no heap allocation), for the verifier's hot path: it recomputes
/// two or three hashes per entry over the whole log.
public struct MerkleHash: Sendable, Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    init(_ digest: SHA256.Digest) {
        words = digest.withUnsafeBytes { bytes in
            (
                bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
    }

    /// Reads a hash from exactly 32 bytes.
    /// - Returns: `nil` for any other length.
    public init?(_ bytes: some DataProtocol) {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { _ = bytes.copyBytes(to: $0) }
        self.words = words
    }

    /// Reads a hash from exactly 32 bytes in memory.
    /// - Returns: `nil` for any other length.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32 else { return nil }
        words = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// The 32 bytes.
    public var data: Data { withUnsafeBytes(of: words) { Data($0) } }

    public static func == (a: MerkleHash, b: MerkleHash) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }

    /// SHA-256(prefix ‖ a ‖ b), or SHA-256(prefix ‖ b) without `a`.
    static func combine(_ prefix: UInt8, _ a: MerkleHash?, _ b: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: prefix) { hasher.update(bufferPointer: $0) }
        if let a { withUnsafeBytes(of: a.words) { hasher.update(bufferPointer: $0) } }
        withUnsafeBytes(of: b.words) { hasher.update(bufferPointer: $0) }
        return MerkleHash(hasher.finalize())
    }
}

extension Merkle {
    /// ``nodeHash(_:_:)`` on inline values.
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash { .combine(0x01, left, right) }

    /// ``chain(_:_:)`` on inline values; `nil` is the empty link before the first entry.
    public static func chain(_ previous: MerkleHash?, _ leaf: MerkleHash) -> MerkleHash { .combine(0x02, previous, leaf) }
}

/// The roots of the perfect subtrees that make up an append-only tree, largest first: enough to
/// append a leaf and compute the root in O(log n), and all the database keeps of the tree's state.
public struct CompactRange: Sendable, Equatable {
    public private(set) var size: Int = 0
    private var nodes: [MerkleHash] = []

    public init() {}

    /// Rebuilds a range from its stored form.
    /// - Returns: `nil` when the hash count does not match the size's bit count.
    public init?(size: Int, packed: Data) {
        guard size >= 0, packed.count % 32 == 0, packed.count / 32 == size.nonzeroBitCount else { return nil }
        self.size = size
        self.nodes = stride(from: 0, to: packed.count, by: 32).compactMap {
            MerkleHash(packed[(packed.startIndex + $0)..<(packed.startIndex + $0 + 32)])
        }
    }

    /// The subtree roots, largest first.
    public var hashes: [Data] { nodes.map(\.data) }

    /// The stored form: the hashes concatenated.
    public var packed: Data { nodes.reduce(into: Data()) { $0.append($1.data) } }

    /// Appends one leaf hash.
    /// - Parameter leaf: 32 bytes. A stored value of another length (only a damaged log has one)
    ///   goes in as its SHA-256, so the root cannot match any signed one that was computed from
    ///   real leaf hashes; the verifier reports such an entry by position.
    public mutating func append(_ leaf: Data) {
        append(MerkleHash(leaf) ?? MerkleHash(SHA256.hash(data: leaf)))
    }

    /// Appends one leaf hash.
    public mutating func append(_ leaf: MerkleHash) {
        nodes.append(leaf)
        // Merge equal-sized subtrees: one merge per trailing 1-bit of the old size.
        var merges = size
        while merges & 1 == 1 {
            let right = nodes.removeLast()
            let left = nodes.removeLast()
            nodes.append(Merkle.nodeHash(left, right))
            merges >>= 1
        }
        size += 1
    }

    /// The tree's root hash.
    public var root: Data { rootHash?.data ?? Merkle.emptyRoot }

    /// The root as an inline value; `nil` for the empty tree.
    var rootHash: MerkleHash? {
        guard var root = nodes.last else { return nil }
        for hash in nodes.dropLast().reversed() { root = Merkle.nodeHash(hash, root) }
        return root
    }
}
