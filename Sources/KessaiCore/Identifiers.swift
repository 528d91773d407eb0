/// A typed identifier: an `Identifier<MerchantTag>` cannot be passed where an
/// `Identifier<PaymentMethodTag>` is expected.
public struct Identifier<Tag: IdentifierTag>: RawRepresentable, Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    public let rawValue: String

    /// Wraps a stored identifier without checking it.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Parses an identifier that came from outside: it must carry the tag's prefix and only
    /// base-62 characters, within the length limit.
    /// - Parameter text: the identifier as received.
    /// - Returns: `nil` when it is not a well-formed identifier of this kind.
    public init?(parsing text: String) {
        guard text.utf8.count <= 64, text.hasPrefix(Tag.prefix) else { return nil }
        let body = text.utf8.dropFirst(Tag.prefix.utf8.count)
        guard !body.isEmpty, body.allSatisfy(Base62.isCharacter) else { return nil }
        self.rawValue = text
    }

    /// A new random identifier with the tag's prefix.
    public static func random() -> Self {
        Self(rawValue: Tag.prefix + Base62.random(count: Tag.randomLength))
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The prefix and length of one kind of identifier.
public protocol IdentifierTag: Sendable {
    static var prefix: String { get }
    static var randomLength: Int { get }
}

public enum MerchantTag: IdentifierTag {
    public static let prefix = "acct_"
    public static let randomLength = 16
}

public enum PaymentMethodTag: IdentifierTag {
    public static let prefix = "pm_"
    public static let randomLength = 24
}

public enum APIKeyTag: IdentifierTag {
    public static let prefix = "key_"
    public static let randomLength = 16
}

public enum RequestTag: IdentifierTag {
    public static let prefix = "req_"
    public static let randomLength = 16
}

public enum PaymentIntentTag: IdentifierTag {
    public static let prefix = "pi_"
    public static let randomLength = 24
}

public enum ChargeTag: IdentifierTag {
    public static let prefix = "ch_"
    public static let randomLength = 24
}

public enum RefundTag: IdentifierTag {
    public static let prefix = "re_"
    public static let randomLength = 24
}

public enum AttemptTag: IdentifierTag {
    public static let prefix = "att_"
    public static let randomLength = 24
}

public enum EventTag: IdentifierTag {
    public static let prefix = "evt_"
    public static let randomLength = 24
}

public enum WebhookEndpointTag: IdentifierTag {
    public static let prefix = "we_"
    public static let randomLength = 24
}

public enum WebhookDeliveryTag: IdentifierTag {
    public static let prefix = "whd_"
    public static let randomLength = 24
}

/// A hosted checkout session; its id is the buyer's only credential for the page, hence long.
public enum CheckoutSessionTag: IdentifierTag {
    public static let prefix = "cs_"
    public static let randomLength = 48
}

/// An origin a merchant registered as allowed to embed Kessai's fields.
public enum EmbeddingOriginTag: IdentifierTag {
    public static let prefix = "eo_"
    public static let randomLength = 16
}

/// A security event: a script that differs from the inventory, a CSP violation report.
public enum SecurityEventTag: IdentifierTag {
    public static let prefix = "sev_"
    public static let randomLength = 16
}

public typealias CheckoutSessionID = Identifier<CheckoutSessionTag>
public typealias EmbeddingOriginID = Identifier<EmbeddingOriginTag>
public typealias SecurityEventID = Identifier<SecurityEventTag>
public typealias EventID = Identifier<EventTag>
public typealias WebhookEndpointID = Identifier<WebhookEndpointTag>
public typealias WebhookDeliveryID = Identifier<WebhookDeliveryTag>
public typealias MerchantID = Identifier<MerchantTag>
public typealias PaymentIntentID = Identifier<PaymentIntentTag>
public typealias ChargeID = Identifier<ChargeTag>
public typealias RefundID = Identifier<RefundTag>
public typealias AttemptID = Identifier<AttemptTag>
public typealias PaymentMethodID = Identifier<PaymentMethodTag>
public typealias APIKeyID = Identifier<APIKeyTag>
public typealias RequestID = Identifier<RequestTag>

/// Base-62 text from the system's cryptographically secure generator.
public enum Base62 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Random base-62 text.
    /// - Parameter count: how many characters.
    /// - Returns: text with about 5.95 bits of entropy per character.
    public static func random(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        // Each 64-bit draw yields up to ten 6-bit values; values 62 and 63 are rejected, so every
        // character is uniform over the alphabet. One system call per ten characters.
        while bytes.count < count {
            var word = generator.next()
            for _ in 0..<10 where bytes.count < count {
                let value = Int(word & 0x3f)
                word >>= 6
                if value < alphabet.count { bytes.append(alphabet[value]) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a byte is one of the 62 characters.
    public static func isCharacter(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
}

/// Lower-case hexadecimal text.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The bytes as lower-case hex, two characters each.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
