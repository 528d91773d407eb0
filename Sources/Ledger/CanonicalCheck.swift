import Crypto

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The verifier's fast path over one stored entry: it walks the bytes of the common canonical
/// shape once, comparing the query columns in place, without building a ``LedgerEntry``.
///
/// The shape is exactly what ``LedgerEntry/canonical`` writes for plain ASCII values:
/// `{"action":S,"actor":{"id":S,"kind":S}[,"instance":S],"objects":{K:S,…},"outcome":S[,"purpose":S]`
/// `[,"request_id":S][,"source":S],"time":N}` with object keys in ascending order. Anything else
/// (an escape, a non-ASCII byte, a character the writer always escapes) is `undecided`, and the
/// caller falls back to the full parser, which decides it.
enum CanonicalCheck {
    enum Verdict: Equatable {
        /// Canonical, and the columns agree with it.
        case matches
        /// Canonical, but a column differs from the entry.
        case columnsDiffer
        /// Not the common shape: use the full parser.
        case undecided
    }

    /// A query column as stored: NULL, text, or a value of another type (which no field of an
    /// entry equals, not even an absent one).
    enum Column {
        case null
        case text(UnsafeBufferPointer<UInt8>)
        case wrongType

        /// Whether the column holds exactly `value` (`nil`: the entry has no such field).
        func holds(_ value: UnsafeBufferPointer<UInt8>?) -> Bool {
            switch (self, value) {
            case (.null, nil): true
            case (.text(let column), let value?): Reader.same(column, value)
            default: false
            }
        }

        /// ``holds(_:)`` for a field of a parsed entry.
        func holds(_ value: String?) -> Bool {
            guard var value else { return holds(nil as UnsafeBufferPointer<UInt8>?) }
            return value.withUTF8 { holds($0) }
        }
    }

    /// The query columns stored beside the entry; valid while the batch they point into is.
    struct Columns {
        /// `nil` when NULL or not an integer (every entry has a time).
        let time: Int64?
        let actorKind: Column
        let actorID: Column
        let action: Column
        let merchant: Column
        let token: Column
        let requestID: Column
    }

    /// Checks an entry's bytes against its columns.
    static func check(_ body: UnsafeBufferPointer<UInt8>, against columns: Columns) -> Verdict {
        var reader = Reader(bytes: body)
        return reader.check(columns) ?? .undecided
    }

    /// SHA-256(0x00 ‖ `{"entry":` ‖ body ‖ `,"seq":` ‖ seq ‖ `}`), the leaf hash, without building
    /// the leaf bytes or allocating.
    static func leafHash(canonical body: UnsafeBufferPointer<UInt8>, seq: Int64) -> MerkleHash {
        var hasher = SHA256()
        leafPrefix.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(body))
        // `,"seq":` + up to 20 characters of a signed 64-bit integer + `}`.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { tail in
            var count = 0
            for byte in ",\"seq\":".utf8 {
                tail[count] = byte
                count += 1
            }
            if seq < 0 {
                tail[count] = UInt8(ascii: "-")
                count += 1
            }
            var magnitude = seq.magnitude
            let digitsStart = count
            repeat {
                tail[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                count += 1
                magnitude /= 10
            } while magnitude > 0
            var low = digitsStart
            var high = count - 1
            while low < high {
                tail.swapAt(low, high)
                low += 1
                high -= 1
            }
            tail[count] = UInt8(ascii: "}")
            count += 1
            hasher.update(bufferPointer: UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: tail[0..<count])))
        }
        return MerkleHash(hasher.finalize())
    }

    private static let leafPrefix: [UInt8] = [0x00] + Array("{\"entry\":".utf8)

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var differs = false

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func check(_ columns: Columns) -> Verdict? {
            guard literal("{\"action\":"), let action = string() else { return nil }
            compare(action, columns.action)
            guard literal(",\"actor\":{\"id\":"), let actorID = string(), literal(",\"kind\":"), let actorKind = string(), literal("}") else { return nil }
            if literal(",\"instance\":") {
                guard string() != nil else { return nil }
            }
            guard literal(",\"objects\":{") else { return nil }
            guard
                LedgerActor.Kind.allCases.contains(where: {
                    var kind = $0.rawValue
                    return kind.withUTF8 { Self.same(actorKind, $0) }
                })
            else { return nil }
            compare(actorID, columns.actorID)
            compare(actorKind, columns.actorKind)
            var merchant: UnsafeBufferPointer<UInt8>?
            var token: UnsafeBufferPointer<UInt8>?
            if peek(UInt8(ascii: "}")) {
                index += 1
            } else {
                var previous: UnsafeBufferPointer<UInt8>?
                while true {
                    guard let key = string(), literal(":"), let value = string() else { return nil }
                    if let previous, !previous.lexicographicallyPrecedes(key) { return nil }
                    previous = key
                    if Self.same(key, "merchant") { merchant = value }
                    if Self.same(key, "token") { token = value }
                    if peek(UInt8(ascii: ",")) {
                        index += 1
                        continue
                    }
                    guard literal("}") else { return nil }
                    break
                }
            }
            compare(merchant, columns.merchant)
            compare(token, columns.token)
            guard literal(",\"outcome\":"), string() != nil else { return nil }
            if literal(",\"purpose\":") {
                guard string() != nil else { return nil }
            }
            var requestID: UnsafeBufferPointer<UInt8>?
            if literal(",\"request_id\":") {
                guard let value = string() else { return nil }
                requestID = value
            }
            compare(requestID, columns.requestID)
            if literal(",\"source\":") {
                guard string() != nil else { return nil }
            }
            guard literal(",\"time\":"), let time = integer(), literal("}"), index == bytes.count else { return nil }
            if time != columns.time { differs = true }
            return differs ? .columnsDiffer : .matches
        }

        mutating func compare(_ value: UnsafeBufferPointer<UInt8>?, _ column: Column) {
            if !column.holds(value) { differs = true }
        }

        func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

        /// Byte equality with `memcmp` (the generic `elementsEqual` goes byte by byte).
        static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
            guard a.count == b.count else { return false }
            guard let left = a.baseAddress, let right = b.baseAddress else { return true }
            return memcmp(left, right, a.count) == 0
        }

        static func same(_ a: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
            same(a, UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// Consumes `text` if the bytes continue with it.
        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let expected = UnsafeBufferPointer(start: text.utf8Start, count: count)
            guard Self.same(UnsafeBufferPointer(rebasing: bytes[index..<(index + count)]), expected) else { return false }
            index += count
            return true
        }

        /// A plain string: printable ASCII without the characters the writer escapes.
        mutating func string() -> UnsafeBufferPointer<UInt8>? {
            guard peek(UInt8(ascii: "\"")) else { return nil }
            index += 1
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
                }
                if byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
                    || byte == UInt8(ascii: "&")
                {
                    return nil
                }
                index += 1
            }
            return nil
        }

        /// A non-negative integer without leading zeros.
        mutating func integer() -> Int64? {
            let start = index
            var value: Int64 = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                index += 1
            }
            guard index > start, !(bytes[start] == UInt8(ascii: "0") && index - start > 1) else { return nil }
            return value
        }
    }
}
