import Glibc

/// What kind of network an IP address belongs to, for the webhook SSRF guard: a webhook may
/// only reach `.public` addresses unless the operator allows private targets.
public enum WebhookAddressCategory: String, Sendable, Equatable {
    case `public`
    case loopback
    /// RFC 1918 and IPv6 unique local (fc00::/7), and deprecated site-local (fec0::/10).
    case `private`
    /// 169.254/16 (where cloud metadata services live) and fe80::/10.
    case linkLocal
    /// 0.0.0.0/8 and `::`: connecting to them reaches this host.
    case unspecified
    case multicast
    /// Carrier-grade NAT, 100.64/10.
    case sharedAddressSpace
    /// Documentation, benchmarking, protocol and future-use ranges, broadcast, Teredo.
    case reserved

    public var isPublic: Bool { self == .public }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address and its classification.
public struct WebhookAddress: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a numeric address. IPv4 accepts every form the C resolver accepts (`127.1`,
    /// `0x7f000001`, `2130706433`), so that no spelling of a private address passes as a name.
    /// IPv6 may be given in brackets, as in a URL.
    public init?(literal: String) {
        var text = literal
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &address) { Array($0) }
        } else {
            guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }) else { return nil }
            var address = in_addr()
            guard inet_aton(text, &address) != 0 else { return nil }
            bytes = withUnsafeBytes(of: &address) { Array($0) }
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var category: WebhookAddressCategory {
        bytes.count == 4 ? Self.classify(v4: bytes) : Self.classify(v6: bytes)
    }

    private static func classify(v4 b: [UInt8]) -> WebhookAddressCategory {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return .unspecified
        case (10, _, _): return .private
        case (100, 64...127, _): return .sharedAddressSpace
        case (127, _, _): return .loopback
        case (169, 254, _): return .linkLocal
        case (172, 16...31, _): return .private
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113), (198, 18...19, _): return .reserved
        case (192, 168, _): return .private
        case (224...239, _, _): return .multicast
        case (240...255, _, _): return .reserved
        default: return .public
        }
    }

    private static func classify(v6 b: [UInt8]) -> WebhookAddressCategory {
        let prefix96 = b[0..<12]
        let embedded = Array(b[12..<16])
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }
        if prefix96.allSatisfy({ $0 == 0 }) && embedded == [0, 0, 0, 1] { return .loopback }
        // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
        // reach the embedded IPv4 address: they are what it is.
        if prefix96.elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])
            || prefix96.allSatisfy({ $0 == 0 })
            || prefix96.elementsEqual([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])
        {
            return classify(v4: embedded)
        }
        // 6to4 (2002:a.b.c.d::/48) carries an IPv4 address too.
        if b[0] == 0x20, b[1] == 0x02 { return classify(v4: Array(b[2..<6])) }
        if b[0] & 0xfe == 0xfc { return .private }
        if b[0] == 0xfe, b[1] & 0xc0 == 0x80 { return .linkLocal }
        if b[0] == 0xfe, b[1] & 0xc0 == 0xc0 { return .private }
        if b[0] == 0xff { return .multicast }
        // Teredo (2001::/32) hides an IPv4 address; documentation (2001:db8::/32); discard (100::/64).
        if b[0] == 0x20, b[1] == 0x01, (b[2] == 0 && b[3] == 0) || (b[2] == 0x0d && b[3] == 0xb8) { return .reserved }
        if b[0] == 0x01, b[1] == 0x00, b[2..<8].allSatisfy({ $0 == 0 }) { return .reserved }
        return .public
    }
}
