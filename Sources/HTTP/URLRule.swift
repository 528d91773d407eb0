/// What Kessai accepts as a URL parameter (`return_url`, `success_url`, `cancel_url`, a webhook
/// endpoint's `url`): one regular expression, used by the server to check and by the OpenAPI
/// document to describe, so the two cannot disagree. An absolute http or https URL with a host
/// name or IPv4 address (no user info, no IPv6 literal), an optional port, and path, query and
/// fragment of URL characters (percent escapes and `{CHECKOUT_SESSION_ID}` included).
enum URLRule {
    static let host = "[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*"
    static let characters = "[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]"
    static let pattern = "[Hh][Tt][Tt][Pp][Ss]?://\(host)(:[1-9][0-9]{0,4})?(/\(characters)*)?(\\?(\(characters)|\\?)*)?(#(\(characters)|\\?)*)?"

    nonisolated(unsafe) static let regex = try? Regex("^(" + pattern + ")$")

    /// Whether `text` is such a URL (at most 2048 bytes).
    static func accepts(_ text: String) -> Bool {
        guard text.utf8.count <= 2048, let regex else { return false }
        return (try? regex.wholeMatch(in: text)) != nil
    }
}
