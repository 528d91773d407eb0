// Full Foundation: JSONSerialization reads the untyped OSV documents.
import Foundation

/// Advisories in the OSV format (https://ossf.github.io/osv-schema/) matched against the
/// packages of this build: a package is affected when its repository URL or identity is the
/// advisory's package name and its version is listed, or lies in a SEMVER/ECOSYSTEM range
/// (`introduced` ≤ version < `fixed`).
public enum Advisories {
    public struct Match: Sendable, Equatable {
        public let advisory: String
        public let package: String
        public let version: String
        public let summary: String
    }

    /// - Throws: when the file is not OSV JSON (one advisory, an array, or `{"vulns": […]}`).
    public static func matches(_ data: Data, packages: [ComponentInventory.Package] = ComponentInventory.packages) throws -> [Match] {
        let parsed = try JSONSerialization.jsonObject(with: data)
        let advisories: [[String: Any]] =
            (parsed as? [[String: Any]]) ?? ((parsed as? [String: Any])?["vulns"] as? [[String: Any]]) ?? [(parsed as? [String: Any]) ?? [:]]
        var found: [Match] = []
        for advisory in advisories {
            guard let id = advisory["id"] as? String else { continue }
            let summary = (advisory["summary"] as? String) ?? (advisory["details"] as? String) ?? id
            for affected in (advisory["affected"] as? [[String: Any]]) ?? [] {
                guard let name = (affected["package"] as? [String: Any])?["name"] as? String else { continue }
                for package in packages where Self.same(name, package) {
                    guard let version = package.version else { continue }
                    let listed = (affected["versions"] as? [String]) ?? []
                    let ranges = (affected["ranges"] as? [[String: Any]]) ?? []
                    if listed.contains(version) || ranges.contains(where: { Self.inRange(version, $0) }) {
                        found.append(Match(advisory: id, package: package.identity, version: version, summary: String(summary.prefix(200))))
                    }
                }
            }
        }
        return found
    }

    static func same(_ name: String, _ package: ComponentInventory.Package) -> Bool {
        func normal(_ text: String) -> String {
            var text = text.lowercased()
            if text.hasSuffix(".git") { text.removeLast(4) }
            return text.replacingOccurrences(of: "https://", with: "")
        }
        return normal(name) == normal(package.location) || name.lowercased() == package.identity
    }

    static func inRange(_ version: String, _ range: [String: Any]) -> Bool {
        guard ["SEMVER", "ECOSYSTEM"].contains(range["type"] as? String ?? "") else { return false }
        var introduced: String? = nil
        for event in (range["events"] as? [[String: String]]) ?? [] {
            if let start = event["introduced"] { introduced = start }
            if let fixed = event["fixed"], let start = introduced {
                if compare(version, start) >= 0 && compare(version, fixed) < 0 { return true }
                introduced = nil
            }
        }
        if let start = introduced { return compare(version, start) >= 0 }
        return false
    }

    /// Numeric comparison of dotted versions (`0` is before everything).
    static func compare(_ a: String, _ b: String) -> Int {
        let left = a.split(separator: ".").map { Int($0) ?? 0 }
        let right = b.split(separator: ".").map { Int($0) ?? 0 }
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}
