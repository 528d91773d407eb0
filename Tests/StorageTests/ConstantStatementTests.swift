import Foundation
import KessaiTestSupport
import SQLKit
import Testing

@testable import Storage

/// A scratch table's statements, in the shapes the payment path uses.
private enum Put: ConstantStatement {
    static let text = "INSERT INTO scratch (id, n, b, t) VALUES ($1, $2, $3, $4)"
    static let parameters: [SQLValue.Kind] = [.text, .integer, .blob, .text]
}

private enum Get: ConstantStatement {
    static let text = "SELECT id, n, b, t FROM scratch WHERE id = $1"
    static let parameters: [SQLValue.Kind] = [.text]
}

/// Bumps `n` of a row whose `t` is still what the caller read: the guard of ``PutAndBump``.
private enum Bump: ConstantStatement {
    static let text = "UPDATE scratch SET n = n + 1 WHERE id = $1 AND t IS NOT DISTINCT FROM $2 RETURNING id"
    static let parameters: [SQLValue.Kind] = [.text, .text]
}

/// Sets `t` on rows whose id starts with a prefix, and uses its second value twice.
private enum Mark: ConstantStatement {
    static let text = "UPDATE scratch SET t = $2 WHERE id LIKE $1 AND $2 = $2"
    static let parameters: [SQLValue.Kind] = [.text, .text]
}

private enum PutAndBump: ConstantWriteBatch {
    static let guardPart: (any ConstantStatement.Type)? = Bump.self
    static let parts: [any ConstantStatement.Type] = [Put.self, Mark.self]
    static let text = combinedText()
    static let parameters = combinedParameters()
}

private enum PutTwo: ConstantWriteBatch {
    static let parts: [any ConstantStatement.Type] = [Put.self, Put.self]
    static let text = combinedText()
    static let parameters = combinedParameters()
}

@Suite("Constant statements: prepared on PostgreSQL, the same text on SQLite, batches all or nothing")
struct ConstantStatementTests {
    @Test("placeholders are renumbered for a batch, made conditional on a guard, and read by SQLite by number")
    func texts() {
        #expect(ConstantText.renumbered("a = $1 AND b = $12 AND c = $1", by: 3) == "a = $4 AND b = $15 AND c = $4")
        #expect(ConstantText.renumbered("price $ and $x", by: 2) == "price $ and $x")
        #expect(ConstantText.sqliteText("x = $1 AND y = $10 AND z = '$'") == "x = ?1 AND y = ?10 AND z = '$'")
        #expect(ConstantText.guarded("INSERT INTO t (a, b) VALUES ($1, $2)") == "INSERT INTO t (a, b) SELECT $1, $2 FROM g")
        #expect(ConstantText.guarded("UPDATE t SET a = $1 WHERE id = $2") == "UPDATE t SET a = $1 WHERE id = $2 AND EXISTS (SELECT 1 FROM g)")
        #expect(
            ConstantText.guarded("UPDATE t SET a = 1 WHERE id = $1 RETURNING id")
                == "UPDATE t SET a = 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM g) RETURNING id")
        #expect(
            PutAndBump.text == "WITH g AS (\(Bump.text)), w0 AS (INSERT INTO scratch (id, n, b, t) SELECT $3, $4, $5, $6 FROM g), "
                + "w1 AS (UPDATE scratch SET t = $8 WHERE id LIKE $7 AND $8 = $8 AND EXISTS (SELECT 1 FROM g)) SELECT count(*) FROM g")
        #expect(PutAndBump.parameters == [.text, .text, .text, .integer, .blob, .text, .text, .text])
        #expect(PutTwo.text.hasSuffix("w1 AS (INSERT INTO scratch (id, n, b, t) VALUES ($5, $6, $7, $8)) SELECT 1"))
        #expect(ConstantText.name(Put.self) != ConstantText.name(Get.self) && ConstantText.name(Put.self).utf8.count <= 63)
    }

    @Test("values of every type, NULL included, go in and come out; wrong values are refused before the database", arguments: TestBackend.available)
    func values(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let database = test.gateway.database
            try await Self.scratch(database)
            try await database.withConnection { (db) async throws in
                try await db.run(Put.self, [.text("a"), .integer(-42), .blob(Data([0, 1, 255])), .text("tëxt")])
                try await db.run(Put.self, [.text("b"), .integer(nil), .blob(nil), .text(nil)])
                let a = try #require(try await db.rows(Get.self, [.text("a")]).first)
                #expect(try a.text(0) == "a" && a.integer(1) == -42 && a.blob(2) == Data([0, 1, 255]) && a.text(3) == "tëxt")
                let b = try #require(try await db.rows(Get.self, [.text("b")]).first)
                #expect(try b.optionalInteger(1) == nil && b.optionalText(3) == nil)
                #expect(throws: ConstantStatementError.self) { try b.text(3) }
                #expect(throws: ConstantStatementError.self) { try a.integer(3) }
                #expect(try await db.rows(Get.self, [.text("none")]).isEmpty)
                await #expect(throws: ConstantStatementError.self) { try await db.run(Get.self, []) }
                await #expect(throws: ConstantStatementError.self) { try await db.run(Get.self, [.integer(1)]) }
            }
            // The same text through the query builder, with a value used twice.
            try await database.withConnection { (db) async throws in
                try await db.runWrites([ConstantExpression(Mark.self, [.text("a%"), .text("marked")])])
                #expect(try await db.rows(Get.self, [.text("a")]).first?.text(3) == "marked")
            }
        }
    }

    @Test("a guarded batch writes nothing when its guard matches no row, and everything when it does", arguments: TestBackend.available)
    func guardedBatch(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let database = test.gateway.database
            try await Self.scratch(database)
            try await database.withConnection { db in
                try await db.run(Put.self, [.text("g"), .integer(0), .blob(nil), .text("seen")])
                try await db.run(Put.self, [.text("m"), .integer(0), .blob(nil), .text(nil)])
            }
            // The parts do not see each other's writes (one statement on PostgreSQL): the mark
            // goes to a row that was there before.
            func put(_ id: String, guardSees: String) async throws -> Bool {
                try await database.batch { db in
                    try await db.run(
                        batch: PutAndBump.self,
                        [[.text("g"), .text(guardSees)], [.text(id), .integer(1), .blob(nil), .text(nil)], [.text("m%"), .text(id)]])
                }
            }
            // The row changed since it was read: nothing is written.
            #expect(try await put("x", guardSees: "stale") == false)
            try await database.withConnection { (db) async throws in
                #expect(try await db.rows(Get.self, [.text("x")]).isEmpty)
                #expect(try await db.rows(Get.self, [.text("g")]).first?.integer(1) == 0)
                #expect(try await db.rows(Get.self, [.text("m")]).first?.optionalText(3) == nil)
            }
            #expect(try await put("y", guardSees: "seen"))
            try await database.withConnection { (db) async throws in
                #expect(try await db.rows(Get.self, [.text("y")]).first?.integer(1) == 1)
                #expect(try await db.rows(Get.self, [.text("m")]).first?.text(3) == "y")
                #expect(try await db.rows(Get.self, [.text("g")]).first?.integer(1) == 1)
            }
        }
    }

    @Test("a batch whose last write fails leaves none of its writes", arguments: TestBackend.available)
    func atomicBatch(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let database = test.gateway.database
            try await Self.scratch(database)
            await #expect(throws: (any Error).self) {
                try await database.batch { db in
                    try await db.run(
                        batch: PutTwo.self,
                        [[.text("p"), .integer(1), .blob(nil), .text(nil)], [.text("p"), .integer(2), .blob(nil), .text(nil)]])
                }
            }
            try await database.withConnection { (db) async throws in #expect(try await db.rows(Get.self, [.text("p")]).isEmpty) }
        }
    }

    static func scratch(_ database: KessaiDatabase) async throws {
        try await database.withConnection { (db) async throws in
            if database.kind == .postgres {
                try await db.run("CREATE TABLE scratch (id TEXT PRIMARY KEY, n BIGINT, b BYTEA, t TEXT)")
            } else {
                try await db.run("CREATE TABLE scratch (id TEXT PRIMARY KEY, n BIGINT, b BLOB, t TEXT)")
            }
        }
    }
}
