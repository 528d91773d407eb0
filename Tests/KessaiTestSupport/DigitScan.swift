#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Finds a digit string standing alone: not inside a longer run of letters, digits or a decimal
/// point (so that random base-62 identifiers, timestamps and timings like `0.739` do not count as
/// a find, while `"cvc":"739"`, `cvc=739&` or `739 ` do).
public enum DigitScan {
    public static func containsStandalone(_ digits: String, in data: Data) -> Bool {
        let needle = Array(digits.utf8)
        let bytes = [UInt8](data)
        guard !needle.isEmpty, bytes.count >= needle.count else { return false }
        func isAlphanumeric(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == 46 }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle) {
                let before = index > 0 && isAlphanumeric(bytes[index - 1])
                let after = index + needle.count < bytes.count && isAlphanumeric(bytes[index + needle.count])
                if !before && !after { return true }
            }
            index += 1
        }
        return false
    }
}
