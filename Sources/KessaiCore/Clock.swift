#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The source of the current time. Every component reads time through one of these so that tests
/// can pin it.
public protocol KessaiClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The system's wall clock.
public struct SystemClock: KessaiClock {
    public init() {}
    public func now() -> Date { Date() }
}

extension Date {
    /// Whole seconds since the Unix epoch, as Stripe's `created` fields carry them.
    public var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }

    /// Creates a date from whole seconds since the Unix epoch.
    public init(unixSeconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(unixSeconds)) }
}
