#if canImport(Glibc)
import Glibc
#endif

/// The process environment, read once.
enum ProcessEnvironment {
    static let values: [String: String] = {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }()
}

/// Writes to standard output without buffering surprises.
func say(_ text: String) {
    print(text)
    fflush(nil)
}
