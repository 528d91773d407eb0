import KessaiCore

/// A `console_users` row.
struct AccountRow: Codable, Sendable {
    var id: String
    var app: String
    var merchantID: String?
    var email: String
    var role: String
    var status: String
    var passwordHash: String?
    var passwordHistory: String
    var totpSealed: String?
    var totpLastStep: Int64
    var recoveryCodes: String
    var failedAttempts: Int
    var lockedUntil: Int64
    var enrollmentHash: String?
    var enrollmentExpiresAt: Int64?
    var lastLoginAt: Int64?
    var createdAt: Int64
    var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, app, email, role, status
        case merchantID = "merchant_id"
        case passwordHash = "password_hash"
        case passwordHistory = "password_history"
        case totpSealed = "totp_sealed"
        case totpLastStep = "totp_last_step"
        case recoveryCodes = "recovery_codes"
        case failedAttempts = "failed_attempts"
        case lockedUntil = "locked_until"
        case enrollmentHash = "enrollment_hash"
        case enrollmentExpiresAt = "enrollment_expires_at"
        case lastLoginAt = "last_login_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func user() -> ConsoleUser? {
        guard let app = ConsoleApp(rawValue: app), let role = ConsoleRole(rawValue: role), let status = ConsoleUser.Status(rawValue: status) else {
            return nil
        }
        return ConsoleUser(
            id: id, app: app, merchant: merchantID.map(MerchantID.init(rawValue:)), email: email, role: role, status: status,
            lockedUntil: lockedUntil, lastLoginAt: lastLoginAt, createdAt: createdAt)
    }

    static func list(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func text(_ list: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(list), as: UTF8.self)) ?? "[]"
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
