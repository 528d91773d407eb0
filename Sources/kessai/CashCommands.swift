import ArgumentParser
import HTTP
import KessaiCore
import Payments

/// `kessai simulate pay|expire INTENT`: the outside world of cash payments, in test mode.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play the buyer or the clock for konbini and Pay-easy payments (test mode).", subcommands: [Pay.self, Expire.self])

    static func intent(_ text: String) throws -> PaymentIntentID {
        guard let id = PaymentIntentID(parsing: text) else { throw ValidationError("\(text) is not a PaymentIntent id (pi_…)") }
        return id
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The buyer pays at the store or ATM: the network notifies Kessai and the intent succeeds (a second time is a duplicate, ignored).")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The PaymentIntent (pi_…).") var intent: String

        func run() async throws {
            let id = try Simulate.intent(intent)
            try await options.withGateway { gateway in
                guard let record = try await gateway.cash.record(of: id) else { throw ValidationError("\(id) is not a konbini or Pay-easy payment") }
                guard let current = try await gateway.cash.intent(id), !current.livemode else {
                    throw ValidationError("only test-mode payments can be simulated")
                }
                do {
                    let paid = try await gateway.cash.simulatePayment(id, merchant: record.merchant)
                    say("\(paid.id): \(paid.status.rawValue)")
                } catch let error as PaymentsError {
                    throw ValidationError(error.message)
                }
            }
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move an unpaid intent past its deadline now: canceled with cancellation_reason=expired, as the scheduled job does.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The PaymentIntent (pi_…).") var intent: String

        func run() async throws {
            let id = try Simulate.intent(intent)
            try await options.withGateway { gateway in
                guard try await gateway.cash.record(of: id) != nil else { throw ValidationError("\(id) is not a konbini or Pay-easy payment") }
                guard let current = try await gateway.cash.intent(id), !current.livemode else {
                    throw ValidationError("only test-mode payments can be simulated")
                }
                guard try await gateway.cash.expire(id, force: true) else { throw ValidationError("\(id) is not waiting for a payment") }
                say("\(id): canceled (expired)")
            }
        }
    }
}

/// `kessai refunds record-payout re_…`: an operator paid a cash refund out to the buyer's bank.
struct RefundsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "refunds", abstract: "Cash refunds.", subcommands: [RecordPayout.self])

    struct RecordPayout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record-payout", abstract: "Record that a konbini or Pay-easy refund was paid out to the buyer's bank account; the refund succeeds.")
        @OptionGroup var options: GatewayOptions
        @Argument(help: "The refund (re_…).") var refund: String

        func run() async throws {
            guard let id = RefundID(parsing: refund) else { throw ValidationError("\(refund) is not a refund id (re_…)") }
            try await options.withGateway { gateway in
                do {
                    let paid = try await gateway.cash.recordPayout(id)
                    say("\(paid.id): \(paid.status.rawValue)")
                } catch let error as PaymentsError {
                    throw ValidationError(error.message)
                }
            }
        }
    }
}
