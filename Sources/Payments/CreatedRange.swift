/// `created[gt|gte|lt|lte]` on a list: the objects created in a window of Unix seconds, as
/// reconciliation jobs ask for them. Empty means every object.
public struct CreatedRange: Sendable, Equatable {
    public var greaterThan: Int64?
    public var greaterThanOrEqual: Int64?
    public var lessThan: Int64?
    public var lessThanOrEqual: Int64?

    public init(greaterThan: Int64? = nil, greaterThanOrEqual: Int64? = nil, lessThan: Int64? = nil, lessThanOrEqual: Int64? = nil) {
        self.greaterThan = greaterThan
        self.greaterThanOrEqual = greaterThanOrEqual
        self.lessThan = lessThan
        self.lessThanOrEqual = lessThanOrEqual
    }
}
