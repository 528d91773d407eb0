import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLiteNIO
import VaporCSQLite

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Rows of one bulk read, packed: every text and blob value in one byte array and each cell a
/// fixed-size record, so reading a row allocates nothing. This is for reads where the drivers'
/// per-row objects cost more than the work done on the rows (the ledger verifier reads every
/// entry of the log).
public struct RowBatch: Sendable {
    /// What a cell holds, as the engine reported it.
    public enum CellType: UInt8, Sendable {
        case null, integer, text, blob
        /// A type the bulk readers do not decode (a real, say): never equal to anything.
        case other
    }

    struct Cell {
        var type: CellType
        /// The integer, or the offset of the bytes in `bytes`.
        var value: Int64
        var count: Int
    }

    /// Columns per row.
    public let columns: Int
    var cells: [Cell] = []
    var bytes: [UInt8] = []

    init(columns: Int, expectedRows: Int = 0) {
        self.columns = columns
        cells.reserveCapacity(columns * max(0, expectedRows))
    }

    /// Rows in the batch.
    public var count: Int { cells.count / columns }

    mutating func appendNull() { cells.append(Cell(type: .null, value: 0, count: 0)) }
    mutating func appendOther() { cells.append(Cell(type: .other, value: 0, count: 0)) }
    mutating func appendInteger(_ value: Int64) { cells.append(Cell(type: .integer, value: value, count: 0)) }
    mutating func append(_ type: CellType, _ value: UnsafeRawBufferPointer) {
        cells.append(Cell(type: type, value: Int64(bytes.count), count: value.count))
        bytes.append(contentsOf: value)
    }

    /// Reads the batch through a view that is valid only inside `body`.
    public func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try cells.withUnsafeBufferPointer { cells in
            try bytes.withUnsafeBufferPointer { bytes in try body(View(columns: columns, cells: cells, bytes: bytes)) }
        }
    }

    /// Cells of a batch in memory.
    public struct View {
        let columns: Int
        let cells: UnsafeBufferPointer<Cell>
        let bytes: UnsafeBufferPointer<UInt8>

        /// The type of a cell.
        public func type(_ row: Int, _ column: Int) -> CellType { cells[row * columns + column].type }

        /// An integer cell's value; `nil` for any other type.
        public func integer(_ row: Int, _ column: Int) -> Int64? {
            let cell = cells[row * columns + column]
            return cell.type == .integer ? cell.value : nil
        }

        /// A text or blob cell's bytes; `nil` for any other type.
        public func bytes(_ row: Int, _ column: Int) -> UnsafeBufferPointer<UInt8>? {
            let cell = cells[row * columns + column]
            guard cell.type == .text || cell.type == .blob else { return nil }
            let start = Int(cell.value)
            return UnsafeBufferPointer(rebasing: bytes[start..<(start + cell.count)])
        }
    }
}

/// A bulk read failed in the driver.
public struct BulkReadError: Error, CustomStringConvertible {
    /// What the engine said (SQLite's message for the statement; never a value).
    public let message: String
    public var description: String { "bulk read failed: \(message)" }
}

extension KessaiDatabase {
    /// Reads the rows of a constant query into a ``RowBatch``. Placeholders are `$1`, `$2`… on
    /// both engines, and every value is bound. On an SQLite file the rows are read through a
    /// read-only connection of the process's own SQLite library, on a thread of its own, so a
    /// bulk read neither waits for nor blocks the gateway's connection (WAL readers see the last
    /// commit).
    /// - Parameters:
    ///   - sql: the statement, a compile-time constant.
    ///   - binds: integer parameters.
    ///   - columns: the number of columns the statement selects.
    ///   - expectedRows: rows to make room for at once (a `LIMIT`, say), so the batch does not grow by copying.
    /// - Returns: the rows.
    /// - Throws: ``BulkReadError`` when the engine fails or the statement has another column count
    ///   (on PostgreSQL, found on the first row).
    public func readBatch(_ sql: StaticString, _ binds: [Int64], columns: Int, expectedRows: Int = 0) async throws -> RowBatch {
        switch backend {
        case .sqlite(_, _, let path?):
            let text = "\(sql)"
            return try await Self.bulkReaders.runIfActive {
                try Self.readSQLiteFile(path: path, sql: text, binds: binds, columns: columns, expectedRows: expectedRows)
            }
        case .sqlite(let connection, let lock, nil):
            return try await lock.holding { try await Self.readSQLiteConnection(connection, "\(sql)", binds, columns: columns) }
        case .postgres(let client, _):
            var bindings = PostgresBindings(capacity: binds.count)
            for value in binds { bindings.append(value) }
            let rows = try await client.query(PostgresQuery(unsafeSQL: "\(sql)", binds: bindings), logger: logger)
            var batch = RowBatch(columns: columns, expectedRows: expectedRows)
            for try await row in rows {
                guard row.count == columns else { throw BulkReadError(message: "the statement selects \(row.count) columns, not \(columns)") }
                for cell in row {
                    guard let bytes = cell.bytes else {
                        batch.appendNull()
                        continue
                    }
                    switch cell.dataType {
                    case .int2, .int4, .int8: batch.appendInteger(try cell.decode(Int64.self))
                    case .bytea: bytes.withUnsafeReadableBytes { batch.append(.blob, $0) }
                    case .text, .varchar: bytes.withUnsafeReadableBytes { batch.append(.text, $0) }
                    default: batch.appendOther()
                    }
                }
            }
            return batch
        }
    }

    /// Threads of their own for bulk reads: SQLiteNIO runs every call of the gateway's connection
    /// on the shared pool, which a long read must not occupy.
    private static let bulkReaders: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Steps the statement with the C API on a private read-only connection: each value is
    /// copied once, from SQLite's page into the batch.
    private static func readSQLiteFile(path: String, sql: String, binds: [Int64], columns: Int, expectedRows: Int) throws -> RowBatch {
        var handle: OpaquePointer?
        // NOMUTEX: the connection lives on this thread only, so SQLite need not lock per call.
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        defer { sqlite_nio_sqlite3_close_v2(handle) }
        guard opened == SQLITE_OK, let db = handle else { throw BulkReadError(message: message(handle, opened)) }
        sqlite_nio_sqlite3_busy_timeout(db, 10_000)
        var prepared: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v2(db, sql, -1, &prepared, nil)
        defer { sqlite_nio_sqlite3_finalize(prepared) }
        guard status == SQLITE_OK, let statement = prepared else { throw BulkReadError(message: message(db, status)) }
        guard Int(sqlite_nio_sqlite3_column_count(statement)) == columns else {
            throw BulkReadError(message: "the statement selects \(sqlite_nio_sqlite3_column_count(statement)) columns, not \(columns)")
        }
        for (index, value) in binds.enumerated() {
            sqlite_nio_sqlite3_bind_int64(statement, Int32(index + 1), value)
        }
        var batch = RowBatch(columns: columns, expectedRows: expectedRows)
        while true {
            let step = sqlite_nio_sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw BulkReadError(message: message(db, step)) }
            for column in 0..<Int32(columns) {
                switch sqlite_nio_sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: batch.appendInteger(sqlite_nio_sqlite3_column_int64(statement, column))
                case SQLITE_TEXT:
                    // The pointer first, then the length, as SQLite documents.
                    let text = sqlite_nio_sqlite3_column_text(statement, column)
                    let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                    batch.append(.text, UnsafeRawBufferPointer(start: text, count: text == nil ? 0 : count))
                case SQLITE_BLOB:
                    let blob = sqlite_nio_sqlite3_column_blob(statement, column)
                    let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                    batch.append(.blob, UnsafeRawBufferPointer(start: blob, count: blob == nil ? 0 : count))
                case SQLITE_NULL: batch.appendNull()
                default: batch.appendOther()
                }
            }
        }
        return batch
    }

    private static func message(_ db: OpaquePointer?, _ status: Int32) -> String {
        if let db, let text = sqlite_nio_sqlite3_errmsg(db) { return String(cString: text) }
        return "SQLite status \(status)"
    }

    /// An in-memory database is only visible to its own connection: read through SQLiteNIO.
    private static func readSQLiteConnection(_ connection: SQLiteConnection, _ sql: String, _ binds: [Int64], columns: Int) async throws -> RowBatch {
        let collected = BatchCollector(columns: columns)
        try await connection.query(sql, binds.map { SQLiteData.integer(Int($0)) }) { row in
            guard row.columns.count == columns else {
                collected.wrongColumns = row.columns.count
                return
            }
            for column in row.columns {
                switch column.data {
                case .integer(let value): collected.batch.appendInteger(Int64(value))
                case .float: collected.batch.appendOther()
                case .text(var value): value.withUTF8 { collected.batch.append(.text, UnsafeRawBufferPointer($0)) }
                case .blob(let buffer): buffer.withUnsafeReadableBytes { collected.batch.append(.blob, $0) }
                case .null: collected.batch.appendNull()
                }
            }
        }
        if let wrong = collected.wrongColumns { throw BulkReadError(message: "the statement selects \(wrong) columns, not \(columns)") }
        return collected.batch
    }
}

/// Rows of one SQLiteNIO query. SQLite calls the row callback one row at a time on the one
/// thread that steps the statement, and the rows are read only after the query has returned, so
/// the batch needs no lock.
private final class BatchCollector: @unchecked Sendable {
    var batch: RowBatch
    var wrongColumns: Int?
    init(columns: Int) { batch = RowBatch(columns: columns) }
}
