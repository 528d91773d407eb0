import KessaiCore

/// One operation of the OpenAPI document: its parameters, form body, key and answer.
struct OpenAPIOperation {
    enum Key {
        case secret, publishable, either, `operator`, none
    }

    struct Query {
        let name: String
        let schema: JSONValue
        var required = false
        /// `name[key]=…` pairs (Stripe's bracket syntax).
        var deepObject = false
    }

    let method: String
    let path: String
    let id: String
    let summary: String
    var key: Key = .secret
    var query: [Query] = []
    /// The form body's properties (nil: no body is read).
    var form: [(String, JSONValue)]? = nil
    var required: [String] = []
    /// At least one of these form fields is required.
    var anyRequired: [String] = []
    /// A component schema name for the 200 answer.
    let response: String
    /// OpenAPI links from the 200 answer: name, operationId, the id parameter's source.
    var links: [(String, String)] = []
    var description: String? = nil

    static let pageLimit = Query(name: "limit", schema: Schema.integer("How many objects, 1 to 100 (default 10).", minimum: 1, maximum: 100))

    /// `created[gt|gte|lt|lte]`: Unix seconds.
    static let created = Query(
        name: "created",
        schema: Schema.object(
            ["gt", "gte", "lt", "lte"].map { ($0, Schema.integer("Unix seconds.", minimum: 0, maximum: 99_999_999_999)) }, required: []),
        deepObject: true)

    static func cursors(_ prefix: String) -> [Query] {
        [
            Query(
                name: "starting_after",
                schema: Schema.string("An id from the previous page: the next, older page.", maxLength: 64, pattern: "^(\(prefix)[0-9A-Za-z]+)?$")),
            Query(
                name: "ending_before",
                schema: Schema.string(
                    "An id from the previous page: the newer page before it. Not with starting_after.", maxLength: 64, pattern: "^(\(prefix)[0-9A-Za-z]+)?$")),
        ]
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("operationId", .string(id)), ("summary", .string(summary))]
        if let description { members.append(("description", .string(description))) }
        var parameters: [JSONValue] = []
        if path.contains("{id}") {
            parameters.append(
                .object([
                    ("name", "id"), ("in", "path"), ("required", true),
                    ("schema", Schema.string("The object's id (another merchant's objects are not found).", minLength: 1, maxLength: 64)),
                ]))
        }
        for field in query {
            var parameter: [(String, JSONValue)] = [
                ("name", .string(field.name)), ("in", "query"), ("required", .bool(field.required)), ("schema", field.schema),
            ]
            if field.deepObject { parameter += [("style", "deepObject"), ("explode", true)] }
            if case .object(let schema) = field.schema, let description = schema.first(where: { $0.0 == "description" }) {
                parameter.append(("description", description.1))
            }
            parameters.append(.object(parameter))
        }
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let form {
            var schema = Schema.object(form, required: required)
            if !anyRequired.isEmpty, case .object(var members) = schema {
                members.append(("anyOf", .array(anyRequired.map { .object([("required", .array([.string($0)]))]) })))
                schema = .object(members)
            }
            var media: [(String, JSONValue)] = [("schema", schema)]
            // Bracketed keys, as Stripe's libraries send them: card[number]=…, metadata[k]=…, list[]=….
            let nested = form.filter { _, schema in
                guard case .object(let members) = schema, let type = members.first(where: { $0.0 == "type" })?.1 else { return false }
                return type == "object" || type == "array"
            }
            if !nested.isEmpty {
                media.append(
                    ("encoding", .object(nested.map { ($0.0, .object([("style", "deepObject"), ("explode", true)])) })))
            }
            members.append(
                (
                    "requestBody",
                    .object([
                        ("required", .bool(!required.isEmpty || !anyRequired.isEmpty)),
                        ("content", .object([("application/x-www-form-urlencoded", .object(media))])),
                    ])
                ))
        }
        switch key {
        case .secret: members.append(("security", .array([.object([("secretKey", .array([]))])])))
        case .publishable: members.append(("security", .array([.object([("publishableKey", .array([]))])])))
        case .either: members.append(("security", .array([.object([("secretKey", .array([]))]), .object([("publishableKey", .array([]))])])))
        case .operator: members.append(("security", .array([.object([("operatorToken", .array([]))])])))
        case .none: members.append(("security", .array([])))
        }
        var ok: [(String, JSONValue)] = [
            ("description", "OK"),
            ("content", .object([("application/json", .object([("schema", Schema.ref(response))]))])),
        ]
        if !links.isEmpty {
            ok.append(
                (
                    "links",
                    .object(
                        links.map { name, operation in
                            (name, .object([("operationId", .string(operation)), ("parameters", .object([("id", "$response.body#/id")]))]))
                        })
                ))
        }
        let error: JSONValue = .object([
            ("description", "An error in Stripe's shape (see the error schema for the codes)."),
            ("content", .object([("application/json", .object([("schema", Schema.ref("error"))]))])),
        ])
        members.append(("responses", .object([("200", .object(ok)), ("4XX", error)])))
        return .object(members)
    }
}
