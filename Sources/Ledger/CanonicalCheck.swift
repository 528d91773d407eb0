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
/// `{"action":S,"actor":{"id":S,"kind":S},"objects":{K:S,…},"outcome":S[,"purpose":S]`
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

    /// The query columns stored beside the entry.
    struct Columns {
        let time: Int64?
        let actorKind: String?
        let actorID: String?
        let action: String?
        let merchant: String?
        let token: String?
        let requestID: String?
    }

    static func check(_ body: String, against columns: Columns) -> Verdict {
        var body = body
        return body.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            return reader.check(columns) ?? .undecided
        }
    }

    /// SHA-256(0x00 ‖ `{"entry":` ‖ body ‖ `,"seq":` ‖ seq ‖ `}`), the leaf hash, without building
    /// the leaf bytes.
    static func leafHash(canonical body: String, seq: Int64) -> Data {
        var body = body
        var hasher = SHA256()
        hasher.update(data: leafPrefix)
        body.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        var tail = ",\"seq\":\(seq)}"
        tail.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return Data(hasher.finalize())
    }

    private static let leafPrefix: [UInt8] = [0x00] + Array("{\"entry\":".utf8)

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var differs = false

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func check(_ columns: Columns) -> Verdict? {
            guard literal("{\"action\":"), let action = string() else { return nil }
            compare(action, columns.action)
            guard literal(",\"actor\":{\"id\":"), let actorID = string(), literal(",\"kind\":"), let actorKind = string(), literal("},\"objects\":{")
            else { return nil }
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

        mutating func compare(_ value: UnsafeBufferPointer<UInt8>?, _ column: String?) {
            switch (value, column) {
            case (nil, nil): return
            case (let value?, var column?): if !column.withUTF8({ Self.same(value, $0) }) { differs = true }
            default: differs = true
            }
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
