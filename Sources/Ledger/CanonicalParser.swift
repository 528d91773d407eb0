/// A small, fast reader for the canonical JSON that ``LedgerEntry`` writes: objects, strings
/// and integers only. The verifier reads every entry of the log, so this avoids a general
/// JSON parser's cost; anything outside that subset is refused (the verifier reports it).
enum CanonicalParser {
    indirect enum Value {
        case string(String)
        case int(Int64)
        case object([Member])
    }

    struct Member {
        let key: String
        let value: Value
    }

    /// Parses `text`; `strict` is true when the text is certainly canonical (keys in ascending
    /// order, no escapes, integers without leading zeros), so no re-encoding check is needed.
    static func parse(_ text: String) -> (members: [Member], strict: Bool)? {
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBufferPointer { buffer -> ([Member], Bool)? in
            var index = 0
            var strict = true
            guard case .object(let members)? = value(buffer, &index, &strict), index == buffer.count else { return nil }
            return (members, strict)
        }
    }

    private static func value(_ b: UnsafeMutableBufferPointer<UInt8>, _ i: inout Int, _ strict: inout Bool) -> Value? {
        guard i < b.count else { return nil }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [Member] = []
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                guard let key = string(b, &i, &strict), i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let item = value(b, &i, &strict) else { return nil }
                if let last = members.last, !(last.key < key) { strict = false }
                members.append(Member(key: key, value: item))
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if b[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                return nil
            }
        case UInt8(ascii: "\""):
            return string(b, &i, &strict).map(Value.string)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = i
            i += 1
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) { i += 1 }
            let digits = b[start] == UInt8(ascii: "-") ? start + 1 : start
            if b[digits] == UInt8(ascii: "0") && i - digits > 1 || b[start] == UInt8(ascii: "-") { strict = false }
            guard let number = Int64(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else { return nil }
            return .int(number)
        default:
            return nil
        }
    }

    private static func string(_ b: UnsafeMutableBufferPointer<UInt8>, _ i: inout Int, _ strict: inout Bool) -> String? {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        var plain = true
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            if b[i] == UInt8(ascii: "\\") {
                plain = false
                i += 1
            }
            i += 1
        }
        guard i < b.count else { return nil }
        let raw = UnsafeBufferPointer(rebasing: b[start..<i])
        i += 1
        if plain {
            // Characters the writer always escapes must not appear bare.
            if raw.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") }) { strict = false }
            return String(decoding: raw, as: UTF8.self)
        }
        strict = false
        // Escapes are rare (names with quotes or non-ASCII control); decode them slowly.
        var out = [UInt8]()
        var j = 0
        while j < raw.count {
            let c = raw[j]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                j += 1
                continue
            }
            guard j + 1 < raw.count else { return nil }
            switch raw[j + 1] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard j + 5 < raw.count, let scalar = UInt32(String(decoding: UnsafeBufferPointer(rebasing: raw[(j + 2)...(j + 5)]), as: UTF8.self), radix: 16),
                    let unicode = Unicode.Scalar(scalar)
                else { return nil }
                out.append(contentsOf: Array(String(unicode).utf8))
                j += 6
                continue
            default: return nil
            }
            j += 2
        }
        return String(decoding: out, as: UTF8.self)
    }
}
