import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// A page, as data: a title and sections. The templates (``Templates``) turn it into HTML;
/// every value is escaped by Mustache, nothing is written into the HTML by hand.
struct Page {
    var title: String
    var sections: [[String: Any]] = []
    var status: HTTPResponse.Status = .ok

    init(_ title: String, status: HTTPResponse.Status = .ok) {
        self.title = title
        self.status = status
    }

    mutating func heading(_ text: String) { sections.append(["heading": ["text": text]]) }
    mutating func paragraph(_ text: String) { sections.append(["paragraph": ["text": text]]) }
    mutating func notice(_ text: String, id: String = "notice") { sections.append(["notice": ["text": text, "id": id]]) }
    mutating func error(_ text: String) { sections.append(["error": ["text": text]]) }
    mutating func code(_ text: String, id: String, label: String) { sections.append(["code": ["text": text, "id": id, "label": label]]) }
    mutating func list(_ items: [String], id: String, ordered: Bool = false) {
        sections.append([ordered ? "orderedList" : "list": ["id": id, "items": items]])
    }
    mutating func link(_ text: String, href: String, id: String) { sections.append(["link": ["text": text, "href": href, "id": id]]) }

    /// A definition list: label and value pairs.
    mutating func facts(_ pairs: [(String, String)], id: String) {
        sections.append(["facts": ["id": id, "items": pairs.map { ["label": $0.0, "value": $0.1] }]])
    }

    /// A table; each row has an optional `data-id` and link (on its first cell).
    mutating func table(id: String, headers: [String], rows: [(id: String?, link: String?, cells: [String])], rowForms: [String: [String: Any]] = [:]) {
        sections.append([
            "table": [
                "id": id, "headers": headers,
                "rows": rows.map { row -> [String: Any] in
                    var cells: [[String: Any]] = row.cells.map { ["text": $0] }
                    if let link = row.link, !cells.isEmpty { cells[0]["link"] = link }
                    var out: [String: Any] = ["cells": cells]
                    if let id = row.id {
                        out["rowID"] = id
                        if let form = rowForms[id] { out["rowForm"] = form }
                    }
                    return out
                },
                "empty": rows.isEmpty,
            ]
        ])
    }

    /// A form posting to `action`, with the session's CSRF token.
    mutating func form(id: String, action: String, csrf: String, fields: [Field], submit: String, submitID: String = "submit", method: String = "post") {
        sections.append(["form": Self.form(id: id, action: action, csrf: csrf, fields: fields, submit: submit, submitID: submitID, method: method)])
    }

    /// A form's template context (for a section, or inside a table row).
    static func form(
        id: String, action: String, csrf: String, fields: [Field], submit: String, submitID: String = "submit", method: String = "post",
        formClass: String? = nil
    ) -> [String: Any] {
        var form: [String: Any] = [
            "id": id, "action": action, "csrf": csrf, "method": method, "submit": submit, "submitID": submitID, "fields": fields.map(\.context),
        ]
        if let formClass { form["class"] = formClass }
        return form
    }

    struct Field {
        var name: String
        var label: String
        var type = "text"
        var autocomplete: String? = nil
        var value: String? = nil
        var options: [String] = []
        var required = true
        var maxLength = 254

        var context: [String: Any] {
            var out: [String: Any] = ["name": name, "label": label, "type": type, "maxlength": maxLength]
            if let autocomplete { out["autocomplete"] = autocomplete }
            if let value { out["value"] = value }
            if required { out["required"] = true }
            out["hasOptions"] = !options.isEmpty
            out["hidden"] = type == "hidden"
            if !options.isEmpty { out["options"] = options.map { ["value": $0, "selected": $0 == value] } }
            if type == "code" {
                out["type"] = "text"
                out["inputmode"] = "numeric"
            }
            return out
        }
    }
}

/// What surrounds every page: language, navigation, the signed-in person, and the security
/// headers (a CSP without `unsafe-inline`, no script at all, no framing, no caching).
struct Chrome {
    var app: ConsoleApp
    var language: Language
    var nav: [(String, String)] = []
    var user: String? = nil
    var csrf: String? = nil

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func response(_ page: Page, templates: MustacheLibrary) -> Response {
        let t = language
        var context: [String: Any] = [
            "lang": language.rawValue, "title": page.title, "appName": t(app.rawValue), "base": app.basePath,
            "nav": nav.map { ["href": $0.1, "text": $0.0] }, "signOut": t("sign_out"),
            "sections": page.sections, "other": language == .ja ? "English" : "日本語", "otherCode": language == .ja ? "en" : "ja",
        ]
        if let user, let csrf {
            context["user"] = user
            context["csrf"] = csrf
        }
        let html = templates.render(context, withTemplate: "layout") ?? ""
        return Response(
            status: page.status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: Self.contentSecurityPolicy,
                HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "same-origin",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
