public import KessaiCore

/// Parameters of a request, decoded from `application/x-www-form-urlencoded` with Stripe's
/// bracket syntax (`card[number]=…`, `metadata[order]=…`, `expand[]=…`).
///
/// Every limit is explicit: the number of pairs, the length of a key and of a value, the depth
/// of nesting, and valid UTF-8. Anything else is a 400 in the API's error shape.
public indirect enum FormValue: Sendable, Equatable {
    case string(String)
    case object([String: FormValue])

    /// The limits applied while parsing.
    public struct Limits: Sendable {
        public var maximumPairs = 256
        public var maximumKeyBytes = 128
        public var maximumValueBytes = 5_000
        public var maximumDepth = 5
        public init() {}
    }

    /// Parses a form body or query string.
    /// - Throws: ``APIError`` (400) for malformed or over-limit input.
    public static func parse(_ bytes: some Collection<UInt8>, limits: Limits = Limits()) throws(APIError) -> [String: FormValue] {
        var root: [String: FormValue] = [:]
        var appendCounters: [String: Int] = [:]
        var pairs = 0
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            pairs += 1
            guard pairs <= limits.maximumPairs else {
                throw APIError.invalid("body", "Too many parameters: at most \(limits.maximumPairs) are accepted.")
            }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let rawKey = parts[0]
            let rawValue = parts.count > 1 ? parts[1] : pair[pair.endIndex...]
            guard rawKey.count <= limits.maximumKeyBytes * 3 else {
                throw APIError.invalid("body", "A parameter name is longer than \(limits.maximumKeyBytes) bytes.")
            }
            guard rawValue.count <= limits.maximumValueBytes * 3 else {
                throw APIError.invalid("body", "A parameter value is longer than \(limits.maximumValueBytes) bytes.")
            }
            let key = try percentDecode(rawKey)
            let value = try percentDecode(rawValue)
            guard !key.isEmpty, key.utf8.count <= limits.maximumKeyBytes else {
                throw APIError.invalid("body", "A parameter name is empty or longer than \(limits.maximumKeyBytes) bytes.")
            }
            guard value.utf8.count <= limits.maximumValueBytes else {
                throw APIError.invalid(key, "The value of \(key) is longer than \(limits.maximumValueBytes) bytes.")
            }
            var path = try splitPath(key)
            guard path.count <= limits.maximumDepth else {
                throw APIError.invalid(key, "\(key) is nested more than \(limits.maximumDepth) levels deep.")
            }
            // `a[]` appends: give each occurrence the next index.
            if let last = path.last, last.isEmpty {
                // A hash has no order to append to: metadata[]=… would become a key "0".
                guard !path.dropLast().contains("metadata") else {
                    throw APIError.invalid(key, "metadata is a hash: name each key, as metadata[order_id]=….")
                }
                let prefix = path.dropLast().joined(separator: "\u{0}")
                let index = appendCounters[prefix, default: 0]
                appendCounters[prefix] = index + 1
                path[path.count - 1] = String(index)
            }
            try insert(.string(value), at: path[...], into: &root, fullKey: key)
        }
        return root
    }

    private static func insert(_ value: FormValue, at path: ArraySlice<String>, into object: inout [String: FormValue], fullKey: String) throws(APIError) {
        guard let head = path.first else { return }
        if path.count == 1 {
            guard object[head] == nil else {
                throw APIError.invalid(fullKey, "Received \(fullKey) more than once, or both as a value and as a hash.")
            }
            object[head] = value
            return
        }
        var child: [String: FormValue]
        switch object[head] {
        case nil: child = [:]
        case .object(let existing): child = existing
        case .string: throw APIError.invalid(fullKey, "Received \(fullKey) both as a value and as a hash.")
        }
        try insert(value, at: path.dropFirst(), into: &child, fullKey: fullKey)
        object[head] = .object(child)
    }

    /// `card[number]` → `["card", "number"]`; `expand[]` → `["expand", ""]`. Brackets are found
    /// among Unicode scalars, not characters: a combining mark after `[` must not hide it.
    private static func splitPath(_ key: String) throws(APIError) -> [String] {
        let scalars = key.unicodeScalars
        guard let open = scalars.firstIndex(of: "[") else {
            guard !scalars.contains("]") else { throw APIError.invalid(key, "Malformed parameter name: \(key).") }
            return [key]
        }
        var path = [String(scalars[..<open])]
        guard !path[0].isEmpty else { throw APIError.invalid(key, "Malformed parameter name: \(key).") }
        var rest = scalars[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw APIError.invalid(key, "Malformed parameter name: \(key).")
            }
            let segment = rest[rest.index(after: rest.startIndex)..<close]
            guard !segment.contains("[") else { throw APIError.invalid(key, "Malformed parameter name: \(key).") }
            path.append(String(segment))
            rest = rest[rest.index(after: close)...]
        }
        return path
    }

    private static func percentDecode(_ bytes: some Collection<UInt8>) throws(APIError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw APIError.invalid("body", "The request body is not valid form encoding.")
                }
                out.append(high << 4 | low)
            default:
                out.append(byte)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw APIError.invalid("body", "The request body is not valid UTF-8.")
        }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Typed, checked access to one level of parameters, refusing names the endpoint does not know.
public struct Parameters: Sendable {
    let values: [String: FormValue]
    /// The name of this level as the API writes it (`card`, `billing_details[address]`), or empty at the top.
    let prefix: String

    public init(_ values: [String: FormValue], prefix: String = "") {
        self.values = values
        self.prefix = prefix
    }

    /// The full name of a parameter at this level, as errors report it.
    public func name(_ key: String) -> String {
        prefix.isEmpty ? key : "\(prefix)[\(key)]"
    }

    /// Refuses any parameter not in `known`.
    /// Refuses parameters outside `known`, and any `expand[]` value outside `expandable`: an
    /// expansion Kessai does not do is refused rather than silently ignored.
    public func allowOnly(_ known: Set<String>, expandable: Set<String> = []) throws(APIError) {
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError.unknown(name(unknown))
        }
        for path in try expansions() where !expandable.contains(path) {
            let allowed = expandable.isEmpty ? "nothing here can be expanded" : "it can expand " + expandable.sorted().joined(separator: ", ")
            throw APIError.invalid(name("expand"), "This property cannot be expanded (\(path.prefix(60))): \(allowed).")
        }
    }

    /// The `expand[]` values asked for.
    public func expansions() throws(APIError) -> Set<String> {
        switch values["expand"] {
        case nil: return []
        case .string(let one): return one.isEmpty ? [] : [one]
        case .object(let list):
            var paths: Set<String> = []
            for (_, value) in list {
                guard case .string(let path) = value else { throw APIError.invalid(name("expand"), "expand must be a list of strings.") }
                paths.insert(path)
            }
            return paths
        }
    }

    /// A string parameter, or `nil` when absent.
    public func string(_ key: String) throws(APIError) -> String? {
        switch values[key] {
        case nil: return nil
        case .string(let value): return value
        case .object: throw APIError.invalid(name(key), "Invalid string: \(name(key)) must be a string, not a hash.")
        }
    }

    /// A string parameter that must be present and non-empty.
    public func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try string(key), !value.isEmpty else { throw APIError.missing(name(key)) }
        return value
    }

    /// A nested hash, or `nil` when absent.
    public func object(_ key: String) throws(APIError) -> Parameters? {
        switch values[key] {
        case nil: return nil
        case .object(let value): return Parameters(value, prefix: name(key))
        case .string(let text):
            // Stripe clients send `metadata=` (empty) to mean "no entries".
            if text.isEmpty { return Parameters([:], prefix: name(key)) }
            throw APIError.invalid(name(key), "Invalid hash: \(name(key)) must be a hash.")
        }
    }

    /// A whole number within `range`; anything but ASCII digits is `parameter_invalid_integer`.
    public func integer(_ key: String, maximumDigits: Int = 9) throws(APIError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard !text.isEmpty, text.utf8.count <= maximumDigits, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(text) else {
            throw APIError.notInteger(name(key))
        }
        return value
    }

    /// A list's `limit`: 1 to 100, `default` when absent; anything else is refused.
    public func limit(default value: Int = 10) throws(APIError) -> Int {
        let limit = try integer("limit", maximumDigits: 3) ?? value
        guard (1...100).contains(limit) else { throw APIError.invalid(name("limit"), "limit must be between 1 and 100.") }
        return limit
    }

    /// Each key and string value at this level (for `metadata`).
    public var entries: [(key: String, value: FormValue)] {
        values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Whether there are no parameters at this level.
    public var isEmpty: Bool { values.isEmpty }
}
