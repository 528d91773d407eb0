// Full Foundation: JSONSerialization reads the untyped OSV and Package.resolved documents.
public import Foundation
public import KessaiCore

/// What Kessai is made of: every Swift package it was built with (embedded at build time from
/// `Package.resolved`) and the web assets it serves, as a CycloneDX 1.5 JSON document.
public enum ComponentInventory {
    public struct Package: Sendable, Equatable {
        public let identity: String
        public let location: String
        public let version: String?
        public let revision: String?

        /// `pkg:swift/github.com/owner/name@version`.
        public var purl: String? {
            guard let url = URL(string: location), let host = url.host else { return nil }
            var path = url.path
            if path.hasSuffix(".git") { path.removeLast(4) }
            return "pkg:swift/\(host)\(path)" + (version.map { "@\($0)" } ?? "")
        }
    }

    /// A served file: its path and SHA-384 (base64), as the script inventory holds it.
    public struct File: Sendable {
        public let path: String
        public let sha384: String
        public init(path: String, sha384: String) {
            self.path = path
            self.sha384 = sha384
        }
    }

    /// The packages of this build.
    public static var packages: [Package] {
        guard let data = Data(base64Encoded: ResolvedPackages.base64),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let pins = root["pins"] as? [[String: Any]]
        else { return [] }
        return pins.compactMap { pin in
            guard let identity = pin["identity"] as? String, let location = pin["location"] as? String else { return nil }
            let state = pin["state"] as? [String: Any]
            return Package(identity: identity, location: location, version: state?["version"] as? String, revision: state?["revision"] as? String)
        }.sorted { $0.identity < $1.identity }
    }

    /// The CycloneDX 1.5 document.
    public static func cycloneDX(files: [File], version: String, now: Date) -> JSONValue {
        var components: [JSONValue] = packages.map { package in
            var members: [(String, JSONValue)] = [
                ("type", "library"), ("bom-ref", .string("swift:\(package.identity)")), ("name", .string(package.identity)),
            ]
            if let version = package.version { members.append(("version", .string(version))) }
            if let purl = package.purl { members.append(("purl", .string(purl))) }
            members.append(("externalReferences", .array([.object([("type", "vcs"), ("url", .string(package.location))])])))
            return .object(members)
        }
        components += files.map { file in
            .object([
                ("type", "file"), ("bom-ref", .string("web:\(file.path)")), ("name", .string(file.path)),
                ("hashes", .array([.object([("alg", "SHA-384"), ("content", .string(Self.hex(base64: file.sha384)))])])),
            ])
        }
        return .object([
            ("bomFormat", "CycloneDX"), ("specVersion", "1.5"), ("serialNumber", .string("urn:uuid:\(UUID().uuidString.lowercased())")), ("version", 1),
            (
                "metadata",
                .object([
                    ("timestamp", .string(now.ISO8601Format())),
                    ("component", .object([("type", "application"), ("bom-ref", "kessai"), ("name", "kessai"), ("version", .string(version))])),
                ])
            ),
            ("components", .array(components)),
        ])
    }

    static func hex(base64: String) -> String {
        Data(base64Encoded: base64).map { Hex.encode($0) } ?? ""
    }
}
