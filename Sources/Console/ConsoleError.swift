/// What the console refuses, in its own words; the pages show each as a message (never a 500).
public enum ConsoleError: Error, Sendable, Equatable {
    case invalidEmail
    case emailTaken
    /// A role of the other application, or an unknown one.
    case invalidRole
    case notFound
    case password(PasswordPolicy.Refusal)
    /// A password or one-time code given for step-up did not match.
    case stepUpRefused
    case invalidCode
    /// The same person asked and tried to approve.
    case ownRequest
    case notPending
    case forbidden
    case invalidInput(field: String)
    case cannotDisableSelf
    /// A merchant's team must keep an active owner.
    case lastOwner
}
