import Logging
import NIOCore
import PostgresKit
public import SQLKit
import SQLiteKit
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A statement whose text is a constant, for the paths every payment takes.
///
/// On PostgreSQL it is prepared once per connection and then only bound and executed, so the
/// server parses and plans it once instead of on every call, and no query builder runs on the
/// way. The text is written once, in PostgreSQL's `$1` notation; SQLite reads the same text with
/// `?1`. Values are bound only: the text never holds one, and holds no `$` followed by a digit
/// other than a placeholder (batches renumber them, SQLite rewrites them).
public protocol ConstantStatement: Sendable {
    /// The statement, with `$1`, `$2` … for its values.
    static var text: String { get }
    /// The type of each value, in order (PostgreSQL prepares the statement with them).
    static var parameters: [SQLValue.Kind] { get }
}

/// Writes that do not read each other's effects, run as one statement on PostgreSQL (each a
/// data-modifying `WITH` clause, all applied or none) and one after another on SQLite, where
/// the caller holds a transaction around them.
///
/// A batch may have a *guard*: a first write ending in `RETURNING` whose rows decide whether
/// the others run at all. On PostgreSQL each other part is made conditional on the guard's
/// rows (an `INSERT … VALUES (…)` becomes `INSERT … SELECT … FROM` the guard; any other part
/// must end in a `WHERE` clause, which gains `AND EXISTS (…)`); on SQLite the parts run only
/// when the guard returned a row.
public protocol ConstantWriteBatch: ConstantStatement {
    /// The first write, whose `RETURNING` rows let the others run; `nil` for none.
    static var guardPart: (any ConstantStatement.Type)? { get }
    /// The writes, in order.
    static var parts: [any ConstantStatement.Type] { get }
}

extension ConstantWriteBatch {
    public static var guardPart: (any ConstantStatement.Type)? { nil }

    /// The combined statement's text, for `static let text = combinedText()`. Its one row says
    /// how many rows the guard returned (1 without a guard).
    public static func combinedText() -> String {
        var clauses: [String] = []
        var offset = 0
        if let guardPart {
            clauses.append("g AS (" + guardPart.text + ")")
            offset = guardPart.parameters.count
        }
        for (index, part) in parts.enumerated() {
            var text = ConstantText.renumbered(part.text, by: offset)
            if guardPart != nil { text = ConstantText.guarded(text) }
            clauses.append("w\(index) AS (" + text + ")")
            offset += part.parameters.count
        }
        return "WITH " + clauses.joined(separator: ", ") + (guardPart == nil ? " SELECT 1" : " SELECT count(*) FROM g")
    }

    /// The combined statement's parameters, for `static let parameters = combinedParameters()`.
    public static func combinedParameters() -> [SQLValue.Kind] {
        (guardPart?.parameters ?? []) + parts.flatMap { $0.parameters }
    }
}

/// A value bound to a constant statement. Its type travels with it, even when it is NULL.
public enum SQLValue: Sendable, Equatable {
    case text(String?)
    case integer(Int64?)
    case blob(Data?)

    /// The type of a bound value.
    public enum Kind: Sendable {
        case text, integer, blob
    }

    var kind: Kind {
        switch self {
        case .text: .text
        case .integer: .integer
        case .blob: .blob
        }
    }

    /// A flag stored as an integer (0 or 1), as every flag column is.
    public static func flag(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
}

/// Errors of constant statements: a programming error shows in the first test that runs it.
public enum ConstantStatementError: Error, CustomStringConvertible {
    case wrongValues(statement: String, expected: Int, got: Int)
    case wrongType(statement: String, position: Int)
    case notAKessaiConnection
    case column(Int, expected: String)

    public var description: String {
        switch self {
        case .wrongValues(let statement, let expected, let got): "\(statement) takes \(expected) values, got \(got)"
        case .wrongType(let statement, let position): "\(statement): value $\(position) has the wrong type"
        case .notAKessaiConnection: "constant statements run only on a connection from KessaiDatabase"
        case .column(let index, let expected): "column \(index) is not \(expected)"
        }
    }
}

/// The connection a ``KessaiDatabase`` hands to its callers: SQLKit's, which the query builders
/// use, with the driver's own beside it for constant statements.
struct KessaiConnection: SQLDatabase {
    enum Driver: Sendable {
        case postgres(PostgresConnection)
        case sqlite(SQLiteConnection)
    }
    let base: any SQLDatabase
    let driver: Driver

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await base.execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    func rows<S: ConstantStatement>(_ statement: S.Type, _ values: [SQLValue]) async throws -> [StatementRow] {
        let parameters = S.parameters
        guard values.count == parameters.count else {
            throw ConstantStatementError.wrongValues(statement: "\(S.self)", expected: parameters.count, got: values.count)
        }
        for (index, value) in values.enumerated() where value.kind != parameters[index] {
            throw ConstantStatementError.wrongType(statement: "\(S.self)", position: index + 1)
        }
        switch driver {
        case .postgres(let connection):
            var bindings = PostgresBindings(capacity: values.count)
            for value in values {
                switch value {
                case .text(let text?): bindings.append(text)
                case .integer(let integer?): bindings.append(integer)
                case .blob(let data?): try bindings.append(data)
                case .text(nil), .integer(nil), .blob(nil): bindings.appendNull()
                }
            }
            var rows: [StatementRow] = []
            for try await row in try await connection.execute(Prepared<S>(bindings: bindings), logger: logger) {
                rows.append(StatementRow(cells: .postgres(row.makeRandomAccess())))
            }
            return rows
        case .sqlite(let connection):
            let binds: [SQLiteData] = values.map { value in
                switch value {
                case .text(let text?): .text(text)
                case .integer(let integer?): .integer(Int(integer))
                case .blob(let data?): .blob(ByteBuffer(bytes: data))
                case .text(nil), .integer(nil), .blob(nil): .null
                }
            }
            return try await connection.query(ConstantText.sqlite(S.self), binds).map { row in
                StatementRow(cells: .sqlite(row.columns.map(\.data)))
            }
        }
    }
}

/// A constant statement as PostgresNIO prepares it: named after its type, once per connection.
private struct Prepared<S: ConstantStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    let bindings: PostgresBindings

    static var name: String { ConstantText.name(S.self) }
    static var sql: String { S.text }
    static var bindingDataTypes: [PostgresDataType] {
        S.parameters.map { kind in
            switch kind {
            case .text: .text
            case .integer: .int8
            case .blob: .bytea
            }
        }
    }

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// Names and SQLite texts of constant statements, worked out once per statement.
enum ConstantText {
    private static let cache = Mutex<[ObjectIdentifier: (name: String, sqlite: String)]>([:])

    private static func entry<S: ConstantStatement>(_ statement: S.Type) -> (name: String, sqlite: String) {
        let key = ObjectIdentifier(statement)
        if let found = cache.withLock({ $0[key] }) { return found }
        // PostgreSQL cuts names at 63 bytes: a hash of the full type name keeps them apart.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in String(reflecting: statement).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let made = (name: "k" + String(hash, radix: 16), sqlite: sqliteText(S.text))
        cache.withLock { $0[key] = made }
        return made
    }

    static func name<S: ConstantStatement>(_ statement: S.Type) -> String { entry(statement).name }
    static func sqlite<S: ConstantStatement>(_ statement: S.Type) -> String { entry(statement).sqlite }

    /// `$n` becomes `?n`, which SQLite binds to the n-th value whatever the order of appearance.
    static func sqliteText(_ text: String) -> String {
        var bytes = Array(text.utf8)
        for index in bytes.indices.dropLast() where bytes[index] == UInt8(ascii: "$") && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) {
            bytes[index] = UInt8(ascii: "?")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A batch part made conditional on the guard's rows (see ``ConstantWriteBatch``). A part of
    /// another shape (no `VALUES (…)` list, no `WHERE`) is left as it is: each batch's tests
    /// check that all of its parts depend on the guard.
    static func guarded(_ text: String) -> String {
        if text.hasPrefix("INSERT"), let values = text.range(of: " VALUES ("), text.hasSuffix(")") {
            let list = text[values.upperBound..<text.index(before: text.endIndex)]
            return text[..<values.lowerBound] + " SELECT " + list + " FROM g"
        }
        guard text.range(of: " WHERE ") != nil else { return text }
        let condition = " AND EXISTS (SELECT 1 FROM g)"
        guard let returning = text.range(of: " RETURNING ") else { return text + condition }
        return text[..<returning.lowerBound] + condition + text[returning.lowerBound...]
    }

    /// Adds `offset` to every `$n` placeholder, for a part of a combined statement.
    static func renumbered(_ text: String, by offset: Int) -> String {
        guard offset > 0 else { return text }
        var result = ""
        var digits = ""
        var inPlaceholder = false
        func flush() {
            if inPlaceholder, let number = Int(digits) { result += "$\(number + offset)" } else if inPlaceholder { result += "$" + digits }
            digits = ""
            inPlaceholder = false
        }
        for character in text {
            if inPlaceholder, character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            flush()
            if character == "$" { inPlaceholder = true } else { result.append(character) }
        }
        flush()
        return result
    }
}

extension SQLDatabase {
    /// Runs a constant statement and returns its rows.
    /// - Parameters:
    ///   - statement: the statement's type.
    ///   - values: one per parameter, of its type.
    /// - Throws: ``ConstantStatementError`` for values that do not fit the statement; the
    ///   driver's error when the database refuses it.
    public func rows<S: ConstantStatement>(_ statement: S.Type, _ values: [SQLValue]) async throws -> [StatementRow] {
        guard let connection = self as? KessaiConnection else { throw ConstantStatementError.notAKessaiConnection }
        return try await connection.rows(statement, values)
    }

    /// Runs a constant statement, ignoring any rows.
    public func run<S: ConstantStatement>(_ statement: S.Type, _ values: [SQLValue]) async throws {
        _ = try await rows(statement, values)
    }

    /// Runs a batch of constant writes: one statement on PostgreSQL, each part in turn on SQLite
    /// (the caller holds a transaction there).
    /// - Parameter values: the values of the guard, if the batch has one, then of each part, in
    ///   the order of ``ConstantWriteBatch/parts``.
    /// - Returns: whether the writes ran: `false` when the guard returned no row.
    @discardableResult
    public func run<B: ConstantWriteBatch>(batch: B.Type, _ values: [[SQLValue]]) async throws -> Bool {
        guard let connection = self as? KessaiConnection else { throw ConstantStatementError.notAKessaiConnection }
        let statements = (B.guardPart.map { [$0] } ?? []) + B.parts
        guard values.count == statements.count else {
            throw ConstantStatementError.wrongValues(statement: "\(B.self)", expected: statements.count, got: values.count)
        }
        switch connection.driver {
        case .postgres:
            guard let row = try await connection.rows(B.self, values.flatMap { $0 }).first else { return false }
            return try row.integer(0) > 0
        case .sqlite:
            for (index, (statement, statementValues)) in zip(statements, values).enumerated() {
                let rows = try await connection.rows(of: statement, statementValues)
                if index == 0, B.guardPart != nil, rows.isEmpty { return false }
            }
            return true
        }
    }
}

extension KessaiConnection {
    fileprivate func rows(of statement: any ConstantStatement.Type, _ values: [SQLValue]) async throws -> [StatementRow] {
        func open<S: ConstantStatement>(_ statement: S.Type) async throws -> [StatementRow] { try await rows(statement, values) }
        return try await open(statement)
    }
}

/// A constant statement with its values as a query-builder expression, for the paths that
/// batch it with built statements (``SQLKit/SQLDatabase/runWrites(_:)``): the text is written
/// once either way.
public struct ConstantExpression: SQLExpression {
    let text: String
    let values: [SQLValue]

    /// - Parameters:
    ///   - statement: the statement's type.
    ///   - values: one per parameter.
    public init<S: ConstantStatement>(_ statement: S.Type, _ values: [SQLValue]) {
        self.text = S.text
        self.values = values
    }

    public func serialize(to serializer: inout SQLSerializer) {
        var utf8 = Substring(text).utf8[...]
        while let dollar = utf8.firstIndex(of: UInt8(ascii: "$")) {
            serializer.write(String(Substring(utf8[..<dollar])))
            let digits = utf8[utf8.index(after: dollar)...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            utf8 = utf8[digits.endIndex...]
            guard let number = Int(String(Substring(digits))), values.indices.contains(number - 1) else {
                serializer.write("$" + String(Substring(digits)))
                continue
            }
            switch values[number - 1] {
            case .text(let text): serializer.write(bind: text)
            case .integer(let integer): serializer.write(bind: integer)
            case .blob(let data): serializer.write(bind: data)
            }
        }
        serializer.write(String(Substring(utf8)))
    }
}
