/// The password rules of PCI DSS 8.3.6 and 8.3.7: at least 12 characters with letters and
/// digits, not containing the user's name, not one of the last four.
public enum PasswordPolicy {
    public static let minimumLength = 12
    /// Longer passwords are refused: scrypt's cost grows with nothing but its input's length, and
    /// no person types more.
    public static let maximumLength = 128
    /// How many earlier passwords may not be used again.
    public static let history = 4

    /// Why a password is refused.
    public enum Refusal: Error, Sendable, Equatable {
        case tooShort, tooLong, needsLettersAndDigits, containsName, mismatch, reused
    }

    /// Checks a new password against the rules that need no history.
    /// - Parameters:
    ///   - password: the new password.
    ///   - email: the account's e-mail; its local part (and the whole address) may not appear.
    public static func check(_ password: String, confirmation: String, email: String) throws(Refusal) {
        guard password == confirmation else { throw .mismatch }
        guard password.count >= minimumLength else { throw .tooShort }
        guard password.utf8.count <= maximumLength else { throw .tooLong }
        guard password.contains(where: \.isLetter), password.contains(where: \.isNumber) else { throw .needsLettersAndDigits }
        let lowered = password.lowercased()
        let name = email.lowercased().split(separator: "@").first.map(String.init) ?? ""
        if name.count >= 3 && lowered.contains(name) { throw .containsName }
        if lowered.contains(email.lowercased()) { throw .containsName }
    }
}
