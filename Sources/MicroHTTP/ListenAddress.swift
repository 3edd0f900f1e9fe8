import Glibc

/// The socket address the daemon binds, parsed from the configured numeric host.
enum ListenAddress {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    /// Parses `host` as a numeric IPv4 or IPv6 address; host names are refused rather than
    /// resolved, so the bound address is always the one written in the configuration.
    init(host: String, port: UInt16) throws(HTTPServerError) {
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            self = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        _ = try CheckedCall.run(
            { inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 ? () : nil },
            orThrow: { _ in .invalidAddress(host) }
        )
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        self = .v6(v6)
    }

    var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// Calls `body` with a `struct sockaddr *` that stays valid for the duration of the call.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>) throws(HTTPServerError) -> Result)
        throws(HTTPServerError) -> Result
    {
        switch self {
        case .v4(var address):
            return try withUnsafePointer(to: &address) { pointer throws(HTTPServerError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr throws(HTTPServerError) in
                    try body(sockaddr)
                }
            }
        case .v6(var address):
            return try withUnsafePointer(to: &address) { pointer throws(HTTPServerError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr throws(HTTPServerError) in
                    try body(sockaddr)
                }
            }
        }
    }

    /// Formats a peer address as `"address:port"`, IPv6 in brackets; `nil` for other families.
    static func describe(_ address: UnsafePointer<sockaddr>) -> String? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                var ip = v4.pointee.sin_addr
                return numericText(family: AF_INET, &ip).map { "\($0):\(UInt16(bigEndian: v4.pointee.sin_port))" }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var ip = v6.pointee.sin6_addr
                return numericText(family: AF_INET6, &ip).map { "[\($0)]:\(UInt16(bigEndian: v6.pointee.sin6_port))" }
            }
        default:
            return nil
        }
    }

    private static func numericText(family: Int32, _ ip: UnsafeRawPointer) -> String? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return try? CheckedCall.run(
            { () -> String? in
                guard inet_ntop(family, ip, &text, socklen_t(text.count)) != nil else { return nil }
                return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            },
            orThrow: { .callFailed(operation: "inet_ntop", reason: $0) }
        )
    }
}
