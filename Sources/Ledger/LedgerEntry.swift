public import Foundation
import KessaiCore

/// Who did something.
public struct LedgerActor: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
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
    /// The gateway process that wrote it (`--instance`, by default `hostname:pid`), so an
    /// investigation can say where each read happened. Entries written before it existed have
    /// none, and their canonical encoding is unchanged.
    public var instance: String?
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
        ]
        if let instance { members.append(("instance", .string(instance))) }
        members += [
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
        guard let (members, strict) = CanonicalParser.parse(text) else { return nil }
        var action: String?
        var actor: LedgerActor?
        var objects: [String: String]?
        var outcome: String?
        var time: Int64?
        for member in members {
            let (key, value) = (member.key, member.value)
            switch (key, value) {
            case ("action", .string(let text)): action = text
            case ("actor", .object(let fields)):
                guard fields.count == 2 else { return nil }
                var id: String?
                var kind: LedgerActor.Kind?
                for member in fields {
                    let (name, field) = (member.key, member.value)
                    if case .string(let text) = field {
                        if name == "id" { id = text } else if name == "kind" { kind = LedgerActor.Kind(rawValue: text) }
                    }
                }
                if let id, let kind { actor = LedgerActor(kind, id) }
            case ("objects", .object(let fields)):
                var map: [String: String] = [:]
                for member in fields {
                    guard case .string(let text) = member.value else { return nil }
                    map[member.key] = text
                }
                objects = map
            case ("instance", .string(let text)): instance = text
            case ("outcome", .string(let text)): outcome = text
            case ("purpose", .string(let text)): purpose = text
            case ("request_id", .string(let text)): requestID = text
            case ("source", .string(let text)): source = text
            case ("time", .int(let value)): time = value
            default: return nil
            }
        }
        guard let action, let actor, let objects, let outcome, let time else { return nil }
        self.time = time
        self.actor = actor
        self.action = action
        self.objects = objects
        self.outcome = outcome
        // Canonical means exactly what this type writes: same order, no spaces, no extras. The
        // parser vouches for the common case; anything with escapes is re-encoded and compared.
        if !strict || members.count != 4 + [purpose, requestID, source, instance].compactMap({ $0 }).count + 1 {
            guard self.canonical == text else { return nil }
        }
    }

    /// The bytes hashed as the leaf at position `seq`.
    public static func leafBytes(canonical: String, seq: Int64) -> Data {
        Data("{\"entry\":\(canonical),\"seq\":\(seq)}".utf8)
    }
}
