/// What the events and webhooks context refuses; the merchant API maps it to its error shape in
/// `HTTP/ErrorMapping.swift`.
public enum WebhooksError: Error, Sendable, Equatable {
    /// A list cursor that is not one of this merchant's events.
    case unknownEvent(id: String, param: String)
}
