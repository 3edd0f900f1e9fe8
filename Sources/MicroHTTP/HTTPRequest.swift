/// What arrived before the body: enough to decide early answers such as 401 or 413.
public struct HTTPRequestHead: Sendable {
    /// A process-unique request number, for correlating log lines.
    public let id: UInt64
    /// The method as sent, e.g. `"GET"`.
    public let method: String
    /// The percent-decoded path without the query, e.g. `"/ocs/v2.php/taskprocessing/task/5"`.
    public let path: String
    /// The percent-decoded query arguments in order, repeated names kept.
    public let query: [(name: String, value: String)]
    /// The request's header fields.
    public let headers: HTTPHeaders
    /// The peer as `"address:port"` (IPv6 in brackets), if known.
    public let remoteAddress: String?
    /// The id for logs and the `X-Request-Id` response header: the client's (a proxy's) if it
    /// sent a sane one, else one made by the server.
    public let requestID: String

    /// Creates a request head; the server builds these, tests of handlers may too.
    public init(
        id: UInt64 = 0,
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: HTTPHeaders = HTTPHeaders(),
        remoteAddress: String? = nil,
        requestID: String? = nil
    ) {
        self.id = id
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.requestID = requestID ?? RequestID.take(from: headers)
    }

    /// The value of the first query argument named `name` (compared exactly), if any.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The values of every query argument named `name` (compared exactly), in order.
    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
    }
}

/// A complete request: its head and its whole body.
public struct HTTPRequest: Sendable {
    /// Everything that arrived before the body.
    public let head: HTTPRequestHead
    /// The raw body bytes, empty if there was none.
    public let body: [UInt8]

    /// Creates a request; the server builds these, tests of handlers may too.
    public init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    /// The method as sent, e.g. `"GET"`.
    public var method: String { head.method }
    /// The percent-decoded path without the query.
    public var path: String { head.path }
    /// The percent-decoded query arguments in order, repeated names kept.
    public var query: [(name: String, value: String)] { head.query }
    /// The request's header fields.
    public var headers: HTTPHeaders { head.headers }
}
