import ArgumentParser
import Console
import HTTP
import KessaiCore
import Ledger
import Merchants

/// Invites a person to the console or a dashboard from the command line (the bootstrap: the
/// first admin has nobody to invite them).
enum ConsoleInvitation {
    static func run(_ app: ConsoleApp, email: String, role: String, merchant: String?, publicURL: String?, options: GatewayOptions) async throws {
        guard let role = ConsoleRole(rawValue: role), role.app == app else {
            throw ValidationError("--role must be one of: \(ConsoleRole.roles(of: app).map(\.rawValue).joined(separator: ", "))")
        }
        try await options.withGateway { gateway in
            var merchantID: MerchantID? = nil
            if let merchant {
                guard let found = try await gateway.merchants.find(merchant) else { throw ValidationError("no merchant \(merchant)") }
                merchantID = found.id
            }
            let services = try gateway.consoleServices()
            let user: ConsoleUser
            let token: Secret<String>
            do {
                (user, token) = try await services.accounts.invite(app, email: email, role: role, merchant: merchantID, actor: MerchantStore.localOperator)
            } catch let error as ConsoleError {
                throw ValidationError(error == .emailTaken ? "\(email) already has an account" : "\(email) is not an e-mail address")
            }
            let base = publicURL ?? gateway.configuration.resolvedPublicURL
            say("\(user.email) (\(user.id), \(role.rawValue)) invited.\nenrollment URL: \(base)\(app.basePath)/enroll/\(token.exposed)\nValid 24 hours, once.")
        }
    }
}

extension OperatorsCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite an operator to the console: prints a single-use enrollment URL valid 24 hours (password and authenticator are set there).")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The operator's e-mail.") var email: String
        @Option(help: "admin, security, support or viewer.") var role: String
        @Option(name: .customLong("public-url"), help: "Where the console is reached (default: the gateway's public URL).") var publicURL: String?

        func run() async throws {
            try await ConsoleInvitation.run(.console, email: email, role: role, merchant: nil, publicURL: publicURL, options: options)
        }
    }
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "Merchant dashboard users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a merchant's user to its dashboard: prints a single-use enrollment URL valid 24 hours.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The user's e-mail.") var email: String
        @Option(help: "The merchant (id mch_… or code).") var merchant: String
        @Option(help: "owner, developer, analyst or view_only.") var role: String
        @Option(name: .customLong("public-url"), help: "Where the dashboard is reached (default: the gateway's public URL).") var publicURL: String?

        func run() async throws {
            try await ConsoleInvitation.run(.dashboard, email: email, role: role, merchant: merchant, publicURL: publicURL, options: options)
        }
    }
}
