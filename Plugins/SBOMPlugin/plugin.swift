import Foundation
import PackagePlugin

/// Embeds the package versions Kessai was built with (`Package.resolved`) into the Sentinel
/// target, so `kessai sbom` describes the binary that runs, not whatever checkout is nearby.
@main
struct SBOMPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let resolved = context.package.directoryURL.appending(path: "Package.resolved")
        let output = context.pluginWorkDirectoryURL.appending(path: "ResolvedPackages.swift")
        return [
            .buildCommand(
                displayName: "Embedding the resolved package versions", executable: try context.tool(named: "sbom-embed").url,
                arguments: [resolved.path, output.path], inputFiles: [resolved], outputFiles: [output])
        ]
    }
}
