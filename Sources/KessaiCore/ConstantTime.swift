/// Comparison of secrets in constant time (for equal lengths), so that the time an answer takes
/// does not tell an attacker how much of a guessed client secret or token was right.
public enum ConstantTime {
    /// Whether two strings have the same UTF-8 bytes; the time depends only on their lengths.
    public static func equal(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
