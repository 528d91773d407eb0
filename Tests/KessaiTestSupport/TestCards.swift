/// The test card numbers used across the suites, with their brands and security codes. The
/// codes are distinctive so that scans for them in files and logs mean something.
public enum TestCards {
    public struct Card: Sendable {
        public let number: String
        public let brand: String
        public let cvc: String

        public init(number: String, brand: String, cvc: String) {
            self.number = number
            self.brand = brand
            self.cvc = cvc
        }
    }

    public static let all: [Card] = [
        Card(number: "4242424242424242", brand: "visa", cvc: "739"),
        Card(number: "4000056655665556", brand: "visa", cvc: "618"),
        Card(number: "5555555555554444", brand: "mastercard", cvc: "846"),
        Card(number: "2223003122003222", brand: "mastercard", cvc: "592"),
        Card(number: "3566002020360505", brand: "jcb", cvc: "907"),
        Card(number: "378282246310005", brand: "amex", cvc: "8214"),
        Card(number: "36227206271667", brand: "diners", cvc: "473"),
        Card(number: "6011111111111117", brand: "discover", cvc: "365"),
    ]

    public static let visa = all[0]
    public static let amex = all[5]
}
