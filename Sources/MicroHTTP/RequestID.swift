import Synchronization

/// The id a request goes by in logs and in the `X-Request-Id` response header: the one a proxy
/// sent in `X-Request-Id` if it is sane (1 to 128 visible ASCII characters), else one made
/// here, unique across processes (a random prefix per process) and in order within one.
enum RequestID {
    static let headerName = "X-Request-Id"
    private static let processPrefix = String(UInt32.random(in: .min ... .max), radix: 16)
    private static let counter = Atomic<UInt64>(0)

    static func take(from headers: HTTPHeaders) -> String {
        if let sent = headers[headerName], isAcceptable(sent) { return sent }
        return "\(processPrefix)-\(String(counter.add(1, ordering: .relaxed).newValue, radix: 16))"
    }

    static func isAcceptable(_ value: String) -> Bool {
        (1...128).contains(value.utf8.count) && value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
