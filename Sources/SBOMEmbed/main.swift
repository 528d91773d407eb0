import Foundation

// sbom-embed RESOLVED OUTPUT: writes a Swift file holding Package.resolved (base64), for the
// SBOM plugin. A missing file embeds an empty list (the SBOM then says so).
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: sbom-embed Package.resolved Output.swift\n".utf8))
    exit(2)
}
let data = FileManager.default.contents(atPath: arguments[1]) ?? Data("{\"pins\":[]}".utf8)
let source = """
    // Generated at build time by the SBOM plugin from Package.resolved; do not edit.
    enum ResolvedPackages {
        static let base64 = "\(data.base64EncodedString())"
    }

    """
try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
