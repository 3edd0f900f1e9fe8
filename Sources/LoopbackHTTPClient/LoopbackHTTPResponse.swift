/// A response as received by ``LoopbackHTTPClient``.
public struct LoopbackHTTPResponse: Sendable {
    /// The status code.
    public let status: Int
    /// The header fields in the order received, repeats kept.
    public let headers: [(name: String, value: String)]
    /// The body, de-chunked if it was sent chunked.
    public let body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header field named `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The body decoded as UTF-8, invalid bytes replaced.
    public var bodyText: String {
        String(decoding: body, as: UTF8.self)
    }
}
