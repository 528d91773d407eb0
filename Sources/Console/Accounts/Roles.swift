/// The two applications: the provider's operator console and each merchant's dashboard. A
/// person belongs to one; the same e-mail in both is two accounts.
public enum ConsoleApp: String, Sendable, CaseIterable {
    case console
    case dashboard

    /// Where its pages live.
    public var basePath: String { "/\(rawValue)" }
}

/// What a person may do. Routes name one; roles hold sets of them (least privilege, PCI DSS 7.2).
public enum Permission: String, Sendable, CaseIterable {
    // Operator console
    case viewMerchants, manageMerchants, viewPayments, refund, viewLedger, manageOperators, approve, resendWebhooks, incidents
    // Merchant dashboard
    case viewOwnPayments, refundOwn, manageKeys, viewWebhooks, resendOwnWebhooks, manageOwnWebhooks, manageTeam
}

/// A role in one of the applications.
public enum ConsoleRole: String, Sendable, CaseIterable {
    // Operators
    /// Operators and their roles, and everything else.
    case admin
    /// The ledger, approvals, merchants' keys.
    case security
    /// Payments and refunds, merchants read-only.
    case support
    /// Read only.
    case viewer
    // Merchant users
    /// Everything for the merchant, the team included.
    case owner
    /// Keys and webhooks, payments read-only.
    case developer
    /// Payments and refunds.
    case analyst
    /// Payments read-only.
    case viewOnly = "view_only"

    public var app: ConsoleApp {
        switch self {
        case .admin, .security, .support, .viewer: .console
        case .owner, .developer, .analyst, .viewOnly: .dashboard
        }
    }

    /// The role matrix (documented in docs/ARCHITECTURE.md; tested route by route).
    public var permissions: Set<Permission> {
        switch self {
        case .admin: [.viewMerchants, .manageMerchants, .viewPayments, .refund, .viewLedger, .manageOperators, .approve, .resendWebhooks, .incidents]
        case .security: [.viewMerchants, .viewLedger, .approve, .incidents]
        case .support: [.viewMerchants, .viewPayments, .refund, .resendWebhooks]
        case .viewer: [.viewMerchants, .viewPayments]
        case .owner: [.viewOwnPayments, .refundOwn, .manageKeys, .viewWebhooks, .resendOwnWebhooks, .manageOwnWebhooks, .manageTeam]
        case .developer: [.viewOwnPayments, .manageKeys, .viewWebhooks, .resendOwnWebhooks, .manageOwnWebhooks]
        case .analyst: [.viewOwnPayments, .refundOwn]
        case .viewOnly: [.viewOwnPayments]
        }
    }

    public static func roles(of app: ConsoleApp) -> [ConsoleRole] { allCases.filter { $0.app == app } }
}
