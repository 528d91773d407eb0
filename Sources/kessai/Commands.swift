import ArgumentParser
import HTTP
import KessaiCore
import Merchants
import Vault

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")
    @OptionGroup var options: GatewayOptions

    func run() async throws {
        let (gateway, announcements) = try await Gateway.open(options.resolve(), logger: options.makeLogger(), createDemoMerchant: false)
        Announce.development(announcements, configuration: gateway.configuration)
        say("schema is up to date (\(gateway.database.kind.rawValue))")
        await gateway.close()
    }
}

struct Merchants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchants", abstract: "Create and list merchants; choose what their payments with watched cards do.",
        subcommands: [Create.self, List.self, WatchPolicy.self]
    )

    struct WatchPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch-policy",
            abstract:
                "What a merchant's payment with a card on the exposure watch list does: --refuse blocks it (402 card_declined, never sent to the bank), --flag lets it go ahead marked (the default)."
        )
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The merchant's id (acct_…) or code.") var merchant: String
        @Flag(help: "Block payments with watched cards.") var refuse = false
        @Flag(help: "Let them go ahead, flagged.") var flag = false

        func run() async throws {
            guard refuse != flag else { throw ValidationError("choose --refuse or --flag") }
            try await options.withGateway { gateway in
                guard let found = try await gateway.merchants.find(merchant) else { throw ValidationError("no merchant \(merchant)") }
                _ = try await gateway.merchants.setRefusesWatchedCards(found.id, refuse, actor: MerchantStore.localOperator)
                say("\(found.id): payments with watched cards are \(refuse ? "refused" : "flagged")")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a merchant and print its keys (the secret key is shown only now).")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The merchant's name.") var name: String
        @Flag(help: "Print one JSON object: {\"id\",\"code\",\"secret_key\",\"publishable_key\"}.") var json = false

        func run() async throws {
            try await options.withGateway { gateway in
                let merchant: Merchant
                let keys: IssuedKeys
                do {
                    (merchant, keys) = try await gateway.merchants.create(name: name)
                } catch let error as MerchantsError {
                    throw ValidationError(error.message)
                }
                if json {
                    say(
                        JSONValue.object([
                            ("id", .string(merchant.id.rawValue)), ("code", .string(merchant.code)),
                            ("secret_key", .string(keys.secretKey.exposed)), ("publishable_key", .string(keys.publishableKey)),
                        ]).serialized())
                } else {
                    say(
                        """
                        merchant:        \(merchant.name)
                        id:              \(merchant.id)
                        code:            \(merchant.code)
                        secret key:      \(keys.secretKey.exposed)
                        publishable key: \(keys.publishableKey)
                        The secret key is shown this once.
                        """)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List merchants with their keys in force (secret keys masked).")
        @OptionGroup var options: GatewayOptions

        func run() async throws {
            let summaries = try await options.withGateway { try await $0.merchants.list() }
            for summary in summaries {
                say("\(summary.merchant.id)\t\(summary.merchant.code)\t\(summary.merchant.name)\t\(summary.activeKeys.joined(separator: " "))")
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage merchants' API keys.", subcommands: [Roll.self])

    struct Roll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a merchant's keys and issue new ones.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The merchant's id (acct_…) or code.") var merchant: String

        func run() async throws {
            try await options.withGateway { gateway in
                guard let found = try await gateway.merchants.find(merchant) else { throw ValidationError("no merchant \(merchant)") }
                let keys = try await gateway.merchants.rollKeys(for: found.id)
                say(
                    """
                    keys of \(found.name) (\(found.id)) replaced; the old ones no longer work.
                    secret key:      \(keys.secretKey.exposed)
                    publishable key: \(keys.publishableKey)
                    """)
            }
        }
    }
}

struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Manage the card vault's keys.", subcommands: [CreateKeyFile.self, RotateKey.self])

    struct CreateKeyFile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key-file",
            abstract: "Create a production key file (mode 0600) with a first key-encryption key and the MAC keys. Refuses to overwrite."
        )
        @Argument(help: "Where to write it; keep it off the database host and out of database backups.") var path: String

        func run() async throws {
            _ = try FileKeySource.generate(path: path, purpose: "production")
            say("key file written to \(path) (mode 0600); give it to every gateway process with --key-file")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Create a new key-encryption key, re-wrap every data key under it while servers keep serving, then retire the old one. Resumable."
        )
        @OptionGroup var options: GatewayOptions
        @Option(help: "Data keys per transaction.") var batch = 500

        func run() async throws {
            guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1…10000") }
            try await options.withGateway { gateway in
                let rotation = KeyRotation(
                    vault: gateway.vault, database: gateway.database, clock: gateway.clock, batchSize: batch, actor: MerchantStore.localOperator)
                let outcome = try await rotation.run { done, total in say("re-wrapped \(done)/\(total)") }
                say(
                    "active key version \(outcome.newVersion); retired \(outcome.retiredVersions.map(String.init).joined(separator: ", ")); \(outcome.rewrapped) data keys re-wrapped"
                )
            }
        }
    }
}

struct OperatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators", abstract: "Operators: console accounts and machine tokens.", subcommands: [Create.self, CreateToken.self, RevokeToken.self])

    struct CreateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-token", abstract: "Create an operator token (op_…) for operator endpoints; shown once.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "Who or what uses it, e.g. checkpoint-monitor.") var name: String

        func run() async throws {
            try await options.withGateway { gateway in
                let (id, token) = try await gateway.operatorTokens.create(name: name, actor: MerchantStore.localOperator)
                say("operator token \(id) for \(name):\n\(token.exposed)\nShown this once.")
            }
        }
    }

    struct RevokeToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-token", abstract: "Revoke an operator token by id (optok_…).")
        @OptionGroup var options: GatewayOptions
        @Argument var id: String

        func run() async throws {
            let revoked = try await options.withGateway { try await $0.operatorTokens.revoke(id: id, actor: MerchantStore.localOperator) }
            guard revoked else { throw ValidationError("no token \(id) in force") }
            say("revoked \(id)")
        }
    }
}
