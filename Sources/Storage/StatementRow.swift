import Logging
import NIOCore
import PostgresKit
import SQLKit
import SQLiteKit
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One row of a constant statement's result, read by column position.
public struct StatementRow: Sendable {
    enum Cells: Sendable {
        case postgres(PostgresRandomAccessRow)
        case sqlite([SQLiteData])
    }
    let cells: Cells

    /// A text column's value, or `nil` for NULL.
    public func optionalText(_ index: Int) throws -> String? {
        switch cells {
        case .postgres(let row):
            do { return try row[index].decode(String?.self) } catch { throw ConstantStatementError.column(index, expected: "text") }
        case .sqlite(let values):
            switch values[index] {
            case .null: return nil
            case .text(let text): return text
            default: throw ConstantStatementError.column(index, expected: "text")
            }
        }
    }

    /// A text column's value.
    public func text(_ index: Int) throws -> String {
        guard let value = try optionalText(index) else { throw ConstantStatementError.column(index, expected: "text") }
        return value
    }

    /// An integer column's value, or `nil` for NULL.
    public func optionalInteger(_ index: Int) throws -> Int64? {
        switch cells {
        case .postgres(let row):
            do { return try row[index].decode(Int64?.self) } catch { throw ConstantStatementError.column(index, expected: "an integer") }
        case .sqlite(let values):
            switch values[index] {
            case .null: return nil
            case .integer(let value): return Int64(value)
            default: throw ConstantStatementError.column(index, expected: "an integer")
            }
        }
    }

    /// An integer column's value.
    public func integer(_ index: Int) throws -> Int64 {
        guard let value = try optionalInteger(index) else { throw ConstantStatementError.column(index, expected: "an integer") }
        return value
    }

    /// A blob column's value, or `nil` for NULL.
    public func optionalBlob(_ index: Int) throws -> Data? {
        switch cells {
        case .postgres(let row):
            do { return try row[index].decode(Data?.self) } catch { throw ConstantStatementError.column(index, expected: "a blob") }
        case .sqlite(let values):
            switch values[index] {
            case .null: return nil
            case .blob(let buffer): return Data(buffer.readableBytesView)
            default: throw ConstantStatementError.column(index, expected: "a blob")
            }
        }
    }

    /// A blob column's value.
    public func blob(_ index: Int) throws -> Data {
        guard let value = try optionalBlob(index) else { throw ConstantStatementError.column(index, expected: "a blob") }
        return value
    }

    /// The number of columns.
    public var count: Int {
        switch cells {
        case .postgres(let row): row.count
        case .sqlite(let values): values.count
        }
    }
}
