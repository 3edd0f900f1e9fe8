import Glibc

/// A block of client addresses in CIDR form (`127.0.0.0/8`, `::1/128`), for settings that let
/// some clients in without credentials. An IPv4 client seen on an IPv6 socket
/// (`::ffff:127.0.0.1`) counts as its IPv4 address.
public struct ClientAddressRange: Sendable, Equatable, CustomStringConvertible {
    private let network: [UInt8]
    private let prefixLength: Int
    public let description: String

    /// Parses `address/prefix` (or a bare address: just that one); nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(of: String(parts[0])) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = given
        }
        network = address
        prefixLength = length
        description = text
    }

    /// Parses a comma-separated list; nil when any item is not a range.
    public static func list(_ text: String) -> [ClientAddressRange]? {
        var ranges: [ClientAddressRange] = []
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let range = ClientAddressRange(trimmed) else { return nil }
            ranges.append(range)
        }
        return ranges
    }

    /// Whether the peer (`address:port`, IPv6 in brackets, as the server reports it) is in the range.
    public func contains(peer: String) -> Bool {
        guard let address = Self.bytes(of: Self.hostPart(of: peer)), address.count == network.count else { return false }
        var remaining = prefixLength
        for index in network.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// `1.2.3.4:80` -> `1.2.3.4`; `[::1]:80` -> `::1`; an address without a port as it is.
    static func hostPart(of peer: String) -> String {
        if peer.hasPrefix("["), let end = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<end])
        }
        if peer.filter({ $0 == ":" }).count == 1, let colon = peer.firstIndex(of: ":") { return String(peer[..<colon]) }
        return peer
    }

    /// The address's bytes: 4 for IPv4 (also when written as IPv4-mapped IPv6), 16 for IPv6.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}
