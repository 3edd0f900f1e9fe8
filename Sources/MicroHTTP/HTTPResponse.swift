/// A response for the server to send.
///
/// The server adds only what libmicrohttpd adds (`Content-Length`, `Date`): a response without
/// `Content-Type` goes out without one. Framing belongs to the server, so `Content-Length` and
/// `Transfer-Encoding` set here are ignored, and a 204 or 304 response is sent without a body.
public struct HTTPResponse: Sendable {
    /// The status code, between 200 and 999; anything else is answered as 500.
    public var status: Int
    /// The header fields to send.
    public var headers: HTTPHeaders
    /// The body bytes.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
