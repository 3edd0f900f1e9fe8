/// The application side of an ``HTTPServer``.
///
/// Both methods are called on libmicrohttpd's worker threads, concurrently for different
/// requests, and may block (on the database, say): a blocked call holds one worker thread.
/// Exactly one of them is called for each request.
public protocol HTTPHandler: Sendable {
    /// Answers a complete request.
    func handle(_ request: HTTPRequest) -> HTTPResponse

    /// Builds the response for a request the server layer refused.
    ///
    /// The status and body are the application's business (an error envelope, say); a
    /// 413 or 400 is the usual choice.
    func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse

    /// The largest body accepted for a request with this head, or nil for the server's
    /// ``HTTPServerConfiguration/maxBodyBytes``. Asked once per request, before any of the body
    /// is read, so that routes taking uploads can allow more than the others.
    func maxBodyBytes(for head: HTTPRequestHead) -> Int?
}

extension HTTPHandler {
    /// Every request gets the server's limit.
    public func maxBodyBytes(for head: HTTPRequestHead) -> Int? { nil }
}
