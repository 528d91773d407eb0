public import KessaiCore

/// A person who signs in to the console or a dashboard.
public struct ConsoleUser: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Created; waits for its enrollment (password and authenticator).
        case invited
        case active
        /// Disabled by an operator, or unused for 90 days (PCI DSS 8.2.6).
        case disabled
    }

    /// `usr_…`
    public let id: String
    public let app: ConsoleApp
    /// For dashboard users: whose objects they see.
    public let merchant: MerchantID?
    public let email: String
    public var role: ConsoleRole
    public var status: Status
    /// Until when sign-in is refused after too many failures (Unix seconds; 0 when not locked).
    public var lockedUntil: Int64
    public var lastLoginAt: Int64?
    public let createdAt: Int64

    /// The ledger's name for this person.
    public var actorID: String { "\(id) \(email)" }
}
