import Glibc
import TaskQueue

/// Resolves a webhook's host to addresses and applies the SSRF policy to every one of them:
/// a name with any non-public address is refused (unless private targets are allowed), so a
/// DNS answer mixing public and private addresses cannot slip through.
public enum WebhookResolver {
    /// Why a host cannot be called.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The name did not resolve (may pass: retried).
        case unresolved(String)
        /// The host is, or resolves to, an address the policy refuses (not retried).
        case refused(String)

        public var description: String {
            switch self {
            case .unresolved(let detail): "cannot resolve: \(detail)"
            case .refused(let detail): "refused: \(detail)"
            }
        }
    }

    /// Every address of `host` (a name, or an IP literal), in resolver order.
    public static func addresses(of host: String) throws(Failure) -> [WebhookAddress] {
        if let literal = WebhookAddress(literal: host) { return [literal] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw .unresolved("\(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [WebhookAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            guard let socketAddress = current.pointee.ai_addr else { continue }
            let bytes: [UInt8]
            switch current.pointee.ai_family {
            case AF_INET:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                }
            case AF_INET6:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
            default:
                continue
            }
            if let address = WebhookAddress(bytes: bytes), !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw .unresolved("\(host): no IPv4 or IPv6 address") }
        return addresses
    }

    /// The addresses to connect to, after the SSRF check.
    public static func permittedAddresses(of host: String, allowPrivateTargets: Bool) throws(Failure) -> [WebhookAddress] {
        let addresses = try addresses(of: host)
        if !allowPrivateTargets, let refused = addresses.first(where: { !$0.category.isPublic }) {
            throw .refused("\(host) resolves to \(refused), a \(refused.category.rawValue) address")
        }
        return addresses
    }
}
