/// Something the sentinel saw that a person must look at. It opens by itself and closes only by
/// people: `open → acknowledged → contained → resolved`, each step with a note in the ledger.
public struct Incident: Sendable, Equatable {
    public enum Severity: String, Sendable, CaseIterable, Comparable {
        case low, medium, high

        public static func < (a: Severity, b: Severity) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public enum Status: String, Sendable, CaseIterable {
        case open, acknowledged, contained, resolved
    }

    /// `inc_…`
    public let id: String
    /// What rule opened it: `injection_probing`, `credential_attack`, `file_integrity`, …
    public let kind: String
    public let severity: Severity
    public var status: Status
    /// What groups events into this incident (one sqlmap run from one address is one incident).
    public let groupKey: String
    /// What was seen, for a person: the source address, the file, the actor.
    public let summary: String
    public let source: String?
    /// How many events it groups.
    public var events: Int
    /// The ledger position of the first event, when it came from the ledger.
    public let firstSeq: Int?
    public let openedAt: Int64
    public var lastSeenAt: Int64
    public var acknowledgedBy: String?
    /// For high severity: who asked to resolve it (a second operator must confirm).
    public var resolutionRequestedBy: String?
    public var resolvedBy: String?
}

/// What a rule or the file watcher reports; the store opens an incident for it or adds it to
/// the open incident with the same key.
public struct Finding: Sendable, Equatable {
    public let kind: String
    public let severity: Incident.Severity
    public let groupKey: String
    public let summary: String
    public let source: String?
    public let seq: Int?
    /// How many events the finding stands for.
    public let count: Int
    /// How many events an incident opened for it starts with (the whole window that crossed the
    /// threshold); ``count`` when not given.
    public var openingCount: Int? = nil

    public init(kind: String, severity: Incident.Severity, groupKey: String, summary: String, source: String? = nil, seq: Int? = nil, count: Int = 1) {
        self.kind = kind
        self.severity = severity
        self.groupKey = groupKey
        self.summary = summary
        self.source = source
        self.seq = seq
        self.count = count
    }
}
