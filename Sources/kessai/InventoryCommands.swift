import ArgumentParser
import Crypto
import HTTP
import KessaiCore
import Ledger
import Sentinel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct SBOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbom", abstract: "Print a CycloneDX 1.5 JSON of every Swift package this binary was built with and every web asset it serves.")
    @Option(help: "Write it to this file instead of standard output.") var output: String?

    func run() async throws {
        let document = ComponentInventory.cycloneDX(files: Gateway.webAssets, version: Kessai.version, now: Date()).serialized()
        if let output {
            try Data(document.utf8).write(to: URL(fileURLWithPath: output))
            say("SBOM: \(ComponentInventory.packages.count) packages, \(Gateway.webAssets.count) web assets → \(output)")
        } else {
            say(document)
        }
    }
}

struct AdvisoriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advisories", abstract: "Vulnerability advisories against this build.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare an OSV advisory file with the packages of this build; each match opens an incident (exit 1).")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "OSV JSON: one advisory, an array, or {\"vulns\": […]}.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let matches: [Advisories.Match]
            do { matches = try Advisories.matches(data) } catch { throw ValidationError("\(file) is not OSV JSON") }
            try await options.withGateway { gateway in
                for match in matches {
                    _ = try await gateway.incidents.report(
                        Finding(
                            kind: "vulnerable_component", severity: .high, groupKey: "vulnerable_component:\(match.advisory):\(match.package)",
                            summary: "\(match.advisory) affects \(match.package) \(match.version) in this build: \(match.summary)"))
                    say("\(match.advisory)\t\(match.package)\t\(match.version)\t\(match.summary)")
                }
            }
            if !matches.isEmpty { throw ExitCode(1) }
            say("no advisory matches this build's \(ComponentInventory.packages.count) packages")
        }
    }
}

struct ScansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scans", abstract: "Outside vulnerability scans.", subcommands: [Record.self])

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a scan report's SHA-256, size and summary in the ledger, so it cannot later be replaced by a cleaner one unseen.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The report file.") var file: String
        @Option(help: "Who ran it (ASV, internal, penetration test…).") var scanner: String
        @Option(help: "The outcome in a line, e.g. 'pass, 0 high'.") var summary: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            guard !CardNumberScan.containsCardNumber(summary), summary.count <= 200, scanner.count <= 100 else {
                throw ValidationError("--summary (200) and --scanner (100) are short text without card numbers")
            }
            let digest = Hex.encode(Data(SHA256.hash(data: data)))
            try await options.withGateway { gateway in
                try await gateway.ledger.record(
                    LedgerEntry(
                        time: Date(), actor: LedgerActor(.operator, "local"), action: "scan.recorded",
                        objects: [
                            "sha256": digest, "bytes": String(data.count), "scanner": scanner, "summary": summary,
                            "file": URL(fileURLWithPath: file).lastPathComponent,
                        ]))
            }
            say("recorded \(URL(fileURLWithPath: file).lastPathComponent): sha256 \(digest), \(data.count) bytes")
        }
    }
}
