/// What the merchants context refuses; the merchant API and the CLI each show it in their own
/// terms (`HTTP/ErrorMapping.swift`).
public enum MerchantsError: Error, Sendable, Equatable {
    /// A merchant name that is empty, too long or holds control characters.
    case invalidName(maximumLength: Int)

    public var message: String {
        switch self {
        case .invalidName(let maximum): "A merchant name is 1 to \(maximum) printable characters."
        }
    }
}
