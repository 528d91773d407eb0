import KessaiCore

/// Builders for the JSON Schemas of the OpenAPI document. Each request schema states the limits
/// the server really enforces, so that a generator (schemathesis) finds every valid request
/// accepted and every invalid one refused.
enum Schema {
    /// Characters the server refuses in free text: the Unicode `Cc` category.
    static let noControl = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"

    static func string(
        _ description: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: String? = nil
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "string")]
        if let minLength { members.append(("minLength", .int(Int64(minLength)))) }
        if let maxLength { members.append(("maxLength", .int(Int64(maxLength)))) }
        if let pattern { members.append(("pattern", .string(pattern))) }
        if let format { members.append(("format", .string(format))) }
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    /// Printable text of at most `maxLength` characters (empty means unset).
    static func text(_ description: String, maxLength: Int) -> JSONValue {
        string(description, maxLength: maxLength, pattern: noControl)
    }

    static func integer(_ description: String? = nil, minimum: Int64? = nil, maximum: Int64? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "integer")]
        if let minimum { members.append(("minimum", .int(minimum))) }
        if let maximum { members.append(("maximum", .int(maximum))) }
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    static func enumeration(_ values: [String], _ description: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "string"), ("enum", .array(values.map(JSONValue.string)))]
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    static func boolean(_ description: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "boolean")]
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    static func array(_ items: JSONValue, minItems: Int? = nil, maxItems: Int? = nil, unique: Bool = false, _ description: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "array"), ("items", items)]
        if let minItems { members.append(("minItems", .int(Int64(minItems)))) }
        if let maxItems { members.append(("maxItems", .int(Int64(maxItems)))) }
        if unique { members.append(("uniqueItems", true)) }
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    /// An object; request objects are closed (the server refuses unknown parameters).
    static func object(
        _ properties: [(String, JSONValue)], required: [String] = [], closed: Bool = true, minProperties: Int? = nil, _ description: String? = nil
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", "object"), ("properties", .object(properties))]
        if !required.isEmpty { members.append(("required", .array(required.map(JSONValue.string)))) }
        if closed { members.append(("additionalProperties", false)) }
        if let minProperties { members.append(("minProperties", .int(Int64(minProperties)))) }
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    /// `schema` or JSON `null`.
    static func nullable(_ schema: JSONValue) -> JSONValue {
        guard case .object(var members) = schema else { return schema }
        if let index = members.firstIndex(where: { $0.0 == "type" }), case .string(let type) = members[index].1 {
            members[index].1 = .array([.string(type), "null"])
            if let values = members.firstIndex(where: { $0.0 == "enum" }), case .array(var list) = members[values].1 {
                list.append(.null)
                members[values].1 = .array(list)
            }
            return .object(members)
        }
        return .object([("anyOf", .array([schema, .object([("type", "null")])]))])
    }

    static func ref(_ name: String) -> JSONValue { .object([("$ref", .string("#/components/schemas/\(name)"))]) }

    /// A response object: every listed property is always present.
    static func response(_ properties: [(String, JSONValue)], _ description: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("type", "object"), ("properties", .object(properties)), ("required", .array(properties.map { .string($0.0) })),
        ]
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }

    static func constant(_ value: String) -> JSONValue { .object([("type", "string"), ("const", .string(value))]) }

    // MARK: Shared request fields

    /// An identifier with its prefix (`pi_`, `pm_` …): base-62 characters, 64 at most.
    static func identifier(_ prefix: String, _ description: String? = nil) -> JSONValue {
        string(description, maxLength: 64, pattern: "^\(prefix)[0-9A-Za-z]+$")
    }

    /// `metadata[KEY]=VALUE`: 50 keys of 1–40 characters without brackets, values up to 500
    /// characters; an empty value unsets a key.
    static let metadata: JSONValue = .object([
        ("type", "object"),
        ("maxProperties", 50),
        ("propertyNames", .object([("minLength", 1), ("maxLength", 40), ("pattern", "^[^\\[\\]]+$")])),
        ("additionalProperties", string(maxLength: 500)),
        (
            "description",
            "Up to 50 keys of up to 40 characters without brackets, values up to 500 characters; an empty value unsets a key."
        ),
    ])

    /// `name@domain.tld`, or empty (unset).
    static func email(_ description: String) -> JSONValue {
        let part = "[^@ <>\"\\u0000-\\u001f\\u007f-\\u009f"
        return string(description, maxLength: 254, pattern: "^(\(part)]+@\(part).]\(part)]*\\.\(part)]*\(part).])?$")
    }

    /// An absolute http or https URL (``URLRule``, the server's own check); `optional` also
    /// accepts the empty string (unset).
    static func url(_ description: String, optional: Bool = true) -> JSONValue {
        string(description, maxLength: 2048, pattern: optional ? "^(\(URLRule.pattern))?$" : "^\(URLRule.pattern)$")
    }
}
