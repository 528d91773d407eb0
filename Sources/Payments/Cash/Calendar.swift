import Acquiring
import KessaiCore
import Logging
import SQLKit
import Storage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
public import Foundation
#endif

extension CashPayments {
    static func jstDate(_ unix: Int64) -> String {
        let day = (unix + 9 * 3600) / 86_400
        let (y, m, d) = civil(fromDays: day)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))"
    }

    /// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
