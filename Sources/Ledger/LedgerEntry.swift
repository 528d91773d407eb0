public import Foundation
public import KessaiCore

/// Who did something.
public struct LedgerActor: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A merchant's API key (id `key_…`).
        case merchantKey = "merchant_key"
        /// A person at the console or command line.
        case `operator`
        /// A job of Kessai's own (expiry, rotation, checkpoints).
        case system
        /// Unauthenticated: a failed login or key.
        case anonymous
    }

    public let kind: Kind
    public let id: String

    public init(_ kind: Kind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    public static func system(_ job: String) -> LedgerActor { LedgerActor(.system, job) }
}

/// One security event or card-data access, before it is given its position in the log.
///
/// Its canonical encoding is JSON with keys in lexicographic order, no insignificant
/// whitespace, and integers only; the leaf the tree hashes wraps it with its position:
/// `{"entry":<canonical entry>,"seq":<n>}`, so that an entry moved to another position no
/// longer matches its own leaf.
public struct LedgerEntry: Sendable, Equatable {
    /// Milliseconds since the Unix epoch.
    public var time: Int64
    public var actor: LedgerActor
    /// What happened, dotted: `vault.decrypt`, `auth.failure`, `merchant.created`, …
    public var action: String
    /// The objects touched, by kind: `token`, `merchant`, `payment_intent`, `key_version`, …
    public var objects: [String: String]
    /// Why, for card-data reads (`authorization`, `refund`, …).
    public var purpose: String?
    public var requestID: String?
    /// The peer address, when the event came over the network.
    public var source: String?
    /// `success`, or what went wrong.
    public var outcome: String

    public init(
        time: Date, actor: LedgerActor, action: String, objects: [String: String] = [:], purpose: String? = nil,
        requestID: String? = nil, source: String? = nil, outcome: String = "success"
    ) {
        self.time = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
        self.actor = actor
        self.action = action
        self.objects = objects
        self.purpose = purpose
        self.requestID = requestID
        self.source = source
        self.outcome = outcome
    }

    /// The canonical encoding, as text.
    public var canonical: String {
        var members: [(String, JSONValue)] = [
            ("action", .string(action)),
            ("actor", .object([("id", .string(actor.id)), ("kind", .string(actor.kind.rawValue))])),
            ("objects", .object(objects.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("outcome", .string(outcome)),
        ]
        if let purpose { members.append(("purpose", .string(purpose))) }
        if let requestID { members.append(("request_id", .string(requestID))) }
        if let source { members.append(("source", .string(source))) }
        members.append(("time", .int(time)))
        return JSONValue.object(members).serialized()
    }

    /// Parses a canonical encoding back; `nil` when it is not one (the verifier reports that).
    public init?(canonical text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let action = object["action"] as? String,
              let actor = object["actor"] as? [String: Any], let actorID = actor["id"] as? String,
              let kindText = actor["kind"] as? String, let kind = LedgerActor.Kind(rawValue: kindText),
              let objects = object["objects"] as? [String: String],
              let outcome = object["outcome"] as? String,
              let time = (object["time"] as? NSNumber)?.int64Value
        else { return nil }
        self.time = time
        self.actor = LedgerActor(kind, actorID)
        self.action = action
        self.objects = objects
        self.purpose = object["purpose"] as? String
        self.requestID = object["request_id"] as? String
        self.source = object["source"] as? String
        self.outcome = outcome
        guard self.canonical == text else { return nil }
    }

    /// The bytes hashed as the leaf at position `seq`.
    public static func leafBytes(canonical: String, seq: Int64) -> Data {
        Data("{\"entry\":\(canonical),\"seq\":\(seq)}".utf8)
    }
}
