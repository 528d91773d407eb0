import Crypto
public import KessaiCore
public import Ledger
import SQLKit
public import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// File integrity monitoring (PCI DSS 11.5.2): what is installed — the binary and the files
/// beside it, the payment-page scripts (`web/`), extra configuration paths — is hashed (SHA-256,
/// with size, mode, owner and mtime) into a baseline kept in the database and recorded in the
/// ledger; every process compares the files with it on a schedule. A new, changed or removed
/// file is a finding.
public struct FileIntegrity: Sendable {
    /// One file's facts.
    public struct Facts: Sendable, Equatable {
        public let sha256: String
        public let size: Int64
        public let mode: Int
        public let owner: Int
        public let mtime: Int64
    }

    /// A difference from the baseline.
    public struct Change: Sendable, Equatable {
        public enum Kind: String, Sendable { case added, changed, removed }
        public let kind: Kind
        public let path: String
    }

    /// Folders whose direct files are watched (the binary's), folders watched with everything
    /// below them (`web/`), and single files.
    public let shallow: [String]
    public let deep: [String]
    public let files: [String]
    let database: KessaiDatabase
    let ledger: Ledger
    let clock: any KessaiClock

    public init(shallow: [String], deep: [String], files: [String] = [], database: KessaiDatabase, ledger: Ledger, clock: any KessaiClock) {
        self.shallow = shallow.map(Self.absolute)
        self.deep = deep.map(Self.absolute)
        self.files = files.map(Self.absolute)
        self.database = database
        self.ledger = ledger
        self.clock = clock
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The watched files as they are now.
    public func scan() -> [String: Facts] {
        var found: [String: Facts] = [:]
        let manager = FileManager.default
        for folder in shallow {
            for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] {
                let path = folder + "/" + name
                if let facts = Self.facts(path) { found[path] = facts }
            }
        }
        for folder in deep {
            guard let walker = manager.enumerator(atPath: folder) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = folder + "/" + relative
                if let facts = Self.facts(path) { found[path] = facts }
            }
        }
        for path in files { if let facts = Self.facts(path) { found[path] = facts } }
        return found
    }

    /// A regular file's facts (`nil` for folders and what cannot be read).
    static func facts(_ path: String) -> Facts? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, let data = FileManager.default.contents(atPath: path) else { return nil }
        return Facts(
            sha256: Hex.encode(Data(SHA256.hash(data: data))), size: Int64(info.st_size), mode: Int(info.st_mode & 0o7777), owner: Int(info.st_uid),
            mtime: Int64(info.st_mtim.tv_sec))
    }

    /// Replaces the baseline with the files as they are now, and records it (with one hash over
    /// all of it) in the ledger.
    /// - Returns: how many files it holds.
    @discardableResult
    public func baseline(actor: LedgerActor) async throws -> Int {
        let now = scan()
        var digest = SHA256()
        for (path, facts) in now.sorted(by: { $0.key < $1.key }) { digest.update(data: Data("\(path)\u{0}\(facts.sha256)\u{0}\(facts.mode)\n".utf8)) }
        let overall = Hex.encode(Data(digest.finalize()))
        try await database.transaction { db in
            try await db.delete(from: "fim_baseline").run()
            for (path, facts) in now {
                try await db.insert(into: "fim_baseline").columns("path", "sha256", "size", "mode", "owner", "mtime")
                    .values(SQLBind(path), SQLBind(facts.sha256), SQLBind(facts.size), SQLBind(facts.mode), SQLBind(facts.owner), SQLBind(facts.mtime))
                    .run()
            }
            try await ledger.record(
                LedgerEntry(
                    time: clock.now(), actor: actor, action: "sentinel.baseline", objects: ["files": String(now.count), "sha256": overall]), on: db)
        }
        return now.count
    }

    /// The baseline, or `nil` when none was taken.
    public func storedBaseline() async throws -> [String: Facts]? {
        let rows = try await database.withConnection { db in
            try await db.select().columns("path", "sha256", "size", "mode", "owner", "mtime").from("fim_baseline").all()
        }
        guard !rows.isEmpty else { return nil }
        var baseline: [String: Facts] = [:]
        for row in rows {
            baseline[try row.decode(column: "path", as: String.self)] = Facts(
                sha256: try row.decode(column: "sha256", as: String.self), size: try row.decode(column: "size", as: Int64.self),
                mode: try row.decode(column: "mode", as: Int.self), owner: try row.decode(column: "owner", as: Int.self),
                mtime: try row.decode(column: "mtime", as: Int64.self))
        }
        return baseline
    }

    /// What differs from the baseline now (content, mode or owner; an mtime alone is not a change).
    /// Only files under the watched paths are compared, so processes watching different paths
    /// do not report each other's files as removed.
    public func changes() async throws -> [Change]? {
        guard let baseline = try await storedBaseline() else { return nil }
        let now = scan()
        let watched = { (path: String) -> Bool in
            shallow.contains { path.hasPrefix($0 + "/") && !path.dropFirst($0.count + 1).contains("/") } || deep.contains { path.hasPrefix($0 + "/") }
                || files.contains(path)
        }
        var changes: [Change] = []
        for (path, facts) in now.sorted(by: { $0.key < $1.key }) {
            if let before = baseline[path] {
                if before.sha256 != facts.sha256 || before.mode != facts.mode || before.owner != facts.owner {
                    changes.append(Change(kind: .changed, path: path))
                }
            } else {
                changes.append(Change(kind: .added, path: path))
            }
        }
        for path in baseline.keys.sorted() where now[path] == nil && watched(path) { changes.append(Change(kind: .removed, path: path)) }
        return changes
    }

    /// The findings for the changes.
    public static func findings(_ changes: [Change]) -> [Finding] {
        changes.map {
            Finding(
                kind: "file_integrity", severity: .high, groupKey: "file_integrity:\($0.path)",
                summary: "file \($0.kind.rawValue) since the baseline: \($0.path)")
        }
    }
}
