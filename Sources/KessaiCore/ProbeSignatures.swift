// Full Foundation: percent-decoding is not in FoundationEssentials.
import Foundation

/// Attack signatures in request input: SQL injection (a quote or comment with boolean, UNION,
/// sleep or stacked-query patterns), script injection and path traversal. Kessai binds every
/// value as a parameter, so none of this can work; the point is to know that someone is trying
/// (the sentinel opens an incident per source).
public enum ProbeSignatures {
    public enum Kind: String, Sendable {
        case sql, script, traversal
    }

    /// The kind of attack a value looks like, if any. The value is examined lowercased with
    /// percent-escapes and `+` decoded once (what a scanner sends), at most its first 4 KiB.
    public static func match(_ raw: some StringProtocol) -> Kind? {
        let plus = String(String(raw.prefix(4096)).map { $0 == "+" ? " " : $0 })
        let text = (plus.removingPercentEncoding ?? plus).lowercased()
        let squeezed = text.split(whereSeparator: { (c: Character) in c.isWhitespace }).joined(separator: " ")
        let scripts = ["<script", "javascript:", "onerror=", "onload="]
        if scripts.contains(where: squeezed.contains) { return .script }
        let traversals = ["../", "..\\", "/etc/passwd", "\u{0}"]
        if traversals.contains(where: squeezed.contains) { return .traversal }
        let sqlWords = [
            " union select", " union all select", "sleep(", "pg_sleep", "benchmark(", "waitfor delay", "; drop ", ";drop ", "; select ", ";select ",
            "information_schema", "sqlite_master", "extractvalue(", "updatexml(", "char(", "chr(", "concat(0x", "@@version", "version()",
            "randomblob(", "dbms_pipe", "case when", "select count(",
        ]
        if sqlWords.contains(where: squeezed.contains) { return .sql }
        // A quote closed and followed by a boolean, a comment or another statement: `' or '1'='1`,
        // `" and 1=1`, `'--`, `'; …`. (A name like "Tom's and Jerry's" is none of these.)
        guard squeezed.contains(where: { "'\"`=".contains($0) }) || squeezed.contains(" by ") else { return nil }
        let patterns = [
            #"['"`]\)*\s*(or|and|xor|rlike|like|regexp)\s*[\(\d'"`]"#, #"['"`]\)*\s*(--|#|/\*|;)"#,
            #"(\)|\d)\s*(or|and)\s*\(?\d+\s*=\s*\d+"#, #"\border\s+by\s+\d+"#,
        ]
        for pattern in patterns {
            if let regex = try? Regex(pattern), squeezed.contains(regex) { return .sql }
        }
        return nil
    }
}
