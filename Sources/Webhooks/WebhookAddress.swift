public import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a webhook may go. A merchant writes the endpoint's URL, and Kessai's process sends to
/// it from inside the provider's network: unchecked, the URL could reach that network instead
/// of the merchant (server-side request forgery: the cloud's metadata service at
/// 169.254.169.254, the database on loopback, the office LAN). So, in production, a webhook
/// goes only to public internet addresses: a URL naming a non-public address literally is
/// refused when the endpoint is registered, and at every delivery each address its host
/// resolves to is checked and the connection goes to the address that was checked, so a DNS
/// answer cannot change between the check and the connection.
public enum WebhookAddress {
    /// Why a delivery was not sent.
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether an address is on the public internet: not loopback, private (RFC 1918, unique
    /// local), link-local, carrier-grade NAT, multicast, documentation, benchmarking,
    /// unspecified or reserved. IPv4 inside IPv6 (mapped, compatible, NAT64) is judged as IPv4.
    public static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isPublic(ipv4: withUnsafeBytes(of: v4.address.sin_addr) { Array($0) })
        case .v6(let v6):
            return isPublic(ipv6: withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) })
        case .unixDomainSocket:
            return false
        }
    }

    /// IPv4 in network order (4 bytes).
    public static func isPublic(ipv4 b: [UInt8]) -> Bool {
        guard b.count == 4 else { return false }
        switch (b[0], b[1], b[2]) {
        case (0, _, _), (10, _, _), (127, _, _): return false  // this network, private, loopback
        case (100, 64...127, _): return false  // carrier-grade NAT
        case (169, 254, _): return false  // link-local (cloud metadata)
        case (172, 16...31, _): return false  // private
        case (192, 0, 0), (192, 0, 2), (192, 88, 99): return false  // IETF, documentation, 6to4 relay
        case (192, 168, _): return false  // private
        case (198, 18...19, _), (198, 51, 100), (203, 0, 113): return false  // benchmarking, documentation
        case (224...255, _, _): return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    /// IPv6 in network order (16 bytes).
    public static func isPublic(ipv6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return false }
        let prefix = b[0..<12]
        // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible, and :: and
        // ::1), 64:ff9b::a.b.c.d (NAT64).
        if prefix.elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) || prefix.allSatisfy({ $0 == 0 })
            || prefix.elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0])
            || prefix.elementsEqual([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])
        {
            return isPublic(ipv4: Array(b[12..<16]))
        }
        if b[0..<6].elementsEqual([0, 0x64, 0xff, 0x9b, 0, 1]) { return false }  // local-use NAT64 64:ff9b:1::/48: a local network's
        if b[0] == 0x20 && b[1] == 0x02 { return isPublic(ipv4: Array(b[2..<6])) }  // 6to4 2002:a.b.c.d::/48
        if b[0..<4].elementsEqual([0x20, 0x01, 0, 0]) { return false }  // Teredo 2001::/32: a tunnel to an IPv4 host it hides
        if b[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return false }  // site-local fec0::/10 (deprecated)
        if b[0] == 0xff { return false }  // multicast
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return false }  // documentation 2001:db8::/32
        if b[0] == 0x01 && b[1] == 0 && b[2...7].allSatisfy({ $0 == 0 }) { return false }  // discard 100::/64
        return true
    }

    /// The address a URL's host names literally (`203.0.113.9`, `[2001:db8::1]`), if it does.
    public static func literal(_ host: String) -> SocketAddress? {
        var bare = Substring(host)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        return try? SocketAddress(ipAddress: String(bare), port: 0)
    }

    /// Whether a host, as written in a URL, is refused before any lookup: a non-public literal
    /// address, or a name kept for this machine (`localhost`, `*.localhost`).
    public static func isRefusedOutright(_ host: String) -> Bool {
        let name = host.lowercased().trimmingSuffix(".")
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        if let address = literal(host) { return !isPublic(address) }
        return false
    }

    /// Every address a host resolves to (the system resolver, on NIO's thread pool).
    public static func resolve(_ host: String, port: Int) async throws -> [SocketAddress] {
        if let address = literal(host) { return [address] }
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #else
            hints.ai_socktype = SOCK_STREAM
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw Refused(description: "\(host) does not resolve")
            }
            defer { freeaddrinfo(first) }
            var addresses: [SocketAddress] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor?.pointee {
                if let raw = info.ai_addr {
                    switch info.ai_family {
                    case AF_INET:
                        addresses.append(raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                    case AF_INET6:
                        addresses.append(raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                    default: break
                    }
                }
                cursor = info.ai_next
            }
            guard !addresses.isEmpty else { throw Refused(description: "\(host) has no address") }
            return addresses
        }
    }

    /// The checked address to connect to for a host: every address it resolves to must be
    /// public (one private answer among public ones is refused too).
    /// - Throws: ``Refused``.
    public static func checked(_ host: String, port: Int) async throws -> String {
        guard !isRefusedOutright(host) else { throw Refused(description: "\(host) is not a public address") }
        let addresses = try await resolve(host, port: port)
        guard addresses.allSatisfy(isPublic), let first = addresses.first?.ipAddress else {
            throw Refused(description: "\(host) resolves to an address that is not public")
        }
        return first
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
