import ArgumentParser
import HTTP
import KessaiCore
import Ledger
import Sentinel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct SentinelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sentinel", abstract: "File integrity: take the baseline after a deploy, or check the files against it now.",
        subcommands: [Baseline.self, Check.self])

    /// The files a server with the same options watches.
    struct Watched: ParsableArguments {
        @Option(name: .customLong("web-root"), help: "The payment-page scripts' folder, as given to serve.") var webRoot: String?
        @Flag(name: .customLong("watch-binary"), inversion: .prefixedNo, help: "Watch the binary's folder (default: in production).") var watchBinary: Bool?
        @Option(name: .customLong("watch"), help: "Another file or folder to watch (repeatable).") var watch: [String] = []

        func apply(_ configuration: inout GatewayConfiguration) {
            if let webRoot { configuration.webRoot = webRoot }
            if let watchBinary { configuration.watchBinaryFolder = watchBinary }
            configuration.watchedPaths += watch
        }
    }

    struct Baseline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hash the watched files (binary folder, web/, extra paths) into a new baseline, recorded in the ledger. Run it after each deploy.")
        @OptionGroup var options: GatewayOptions
        @OptionGroup var watched: Watched
        @Option(help: "Who takes it (recorded in the ledger).") var `operator`: String = "local"

        func run() async throws {
            try await options.withGateway(adjust: watched.apply) { gateway in
                let count = try await gateway.fileIntegrity().baseline(actor: LedgerActor(.operator, self.operator))
                say("baseline: \(count) files recorded")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the watched files with the baseline now; exit 1 and open incidents on a difference.")
        @OptionGroup var options: GatewayOptions
        @OptionGroup var watched: Watched

        func run() async throws {
            try await options.withGateway(adjust: watched.apply) { gateway in
                guard let changes = try await gateway.fileIntegrity().changes() else {
                    throw ValidationError("no baseline: run `kessai sentinel baseline` first")
                }
                for finding in FileIntegrity.findings(changes) { _ = try await gateway.incidents.report(finding) }
                for change in changes { say("\(change.kind.rawValue)\t\(change.path)") }
                if !changes.isEmpty { throw ExitCode(1) }
                say("files match the baseline")
            }
        }
    }
}

struct IncidentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents", abstract: "What the sentinel opened, and the people's steps: acknowledge, contain, resolve.",
        subcommands: [List.self, Show.self, Acknowledge.self, Contain.self, Resolve.self])

    static func json(_ incident: Incident) -> JSONValue {
        .object([
            ("id", .string(incident.id)), ("kind", .string(incident.kind)), ("severity", .string(incident.severity.rawValue)),
            ("status", .string(incident.status.rawValue)), ("opened_at", .string(Self.iso(incident.openedAt))), ("summary", .string(incident.summary)),
            ("source", .optional(incident.source)), ("events", .int(Int64(incident.events))), ("last_seen_at", .string(Self.iso(incident.lastSeenAt))),
            ("first_ledger_seq", incident.firstSeq.map { .int(Int64($0)) } ?? nil), ("acknowledged_by", .optional(incident.acknowledgedBy)),
            ("resolution_requested_by", .optional(incident.resolutionRequestedBy)), ("resolved_by", .optional(incident.resolvedBy)),
        ])
    }

    static func iso(_ unix: Int64) -> String { Date(unixSeconds: unix).ISO8601Format() }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Incidents not resolved (all with --all), newest first.")
        @OptionGroup var options: GatewayOptions
        @Flag(help: "Resolved ones too.") var all = false
        @Flag(help: "One JSON array.") var json = false

        func run() async throws {
            let incidents = try await options.withGateway { try await $0.incidents.list(all: all) }
            if json {
                say(JSONValue.array(incidents.map(IncidentsCommand.json)).serialized())
                return
            }
            for incident in incidents {
                say(
                    "\(incident.id)\t\(incident.severity.rawValue)\t\(incident.status.rawValue)\t\(IncidentsCommand.iso(incident.openedAt))\t\(incident.kind)\t\(incident.summary)"
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One incident, as JSON.")
        @OptionGroup var options: GatewayOptions
        @Argument var id: String

        func run() async throws {
            guard let incident = try await options.withGateway({ try await $0.incidents.find(id) }) else { throw ValidationError("no incident \(id)") }
            say(IncidentsCommand.json(incident).serialized())
        }
    }

    /// One step by a person.
    struct Step: ParsableArguments {
        @OptionGroup var options: GatewayOptions
        @Argument var id: String
        @Option(help: "What was found or done (required; recorded in the ledger).") var note: String
        @Option(help: "Who takes the step (recorded in the ledger).") var `operator`: String

        func run(_ step: @escaping @Sendable (IncidentStore, String, String, String) async throws -> Incident) async throws {
            do {
                let incident = try await options.withGateway { try await step($0.incidents, id, self.operator, note) }
                if incident.status != .resolved && incident.resolutionRequestedBy != nil {
                    say("\(incident.id): resolution asked by \(incident.resolutionRequestedBy!); a high incident needs a second operator to resolve it")
                } else {
                    say("\(incident.id): \(incident.status.rawValue)")
                }
            } catch let refusal as IncidentStore.Refusal {
                switch refusal {
                case .notFound: throw ValidationError("no incident \(id)")
                case .noteRequired: throw ValidationError("--note is required (at most 1,000 characters)")
                case .noteHasCardNumber: throw ValidationError("the note holds what looks like a card number; leave it out")
                case .notAllowed(let from, let to): throw ValidationError("\(id) is \(from.rawValue); it cannot become \(to.rawValue)")
                }
            }
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Someone is on it.")
        @OptionGroup var step: Step
        func run() async throws { try await step.run { try await $0.acknowledge($1, by: $2, note: $3) } }
    }

    struct Contain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The attack is stopped.")
        @OptionGroup var step: Step
        func run() async throws { try await step.run { try await $0.contain($1, by: $2, note: $3) } }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close it (a high incident needs two different operators).")
        @OptionGroup var step: Step
        func run() async throws { try await step.run { try await $0.resolve($1, by: $2, note: $3) } }
    }
}
