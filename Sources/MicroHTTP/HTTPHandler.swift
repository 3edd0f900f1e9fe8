/// The application side of an ``HTTPServer``.
///
/// Its methods are called on libmicrohttpd's worker threads, concurrently for different
/// requests, and may block (on the database, say): a blocked call holds one worker thread.
/// For each request either ``respond(to:)`` (which by default calls ``handle(_:)``) or
/// ``reject(_:reason:)`` is called, once.
public protocol HTTPHandler: Sendable {
    /// Answers a complete request.
    func handle(_ request: HTTPRequest) -> HTTPResponse

    /// Answers a complete request now or later: a handler that may have to wait (a long poll)
    /// returns a ``PendingResponse`` instead of holding the worker thread. The default answers
    /// with ``handle(_:)``.
    func respond(to request: HTTPRequest) -> HTTPHandlerResult

    /// Builds the response for a request the server layer refused.
    ///
    /// The status and body are the application's business (an error envelope, say); a
    /// 413 or 400 is the usual choice.
    func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse

    /// The largest body accepted for a request with this head, or nil for the server's
    /// ``HTTPServerConfiguration/maxBodyBytes``. Asked once per request, before any of the body
    /// is read, so that routes taking uploads can allow more than the others.
    func maxBodyBytes(for head: HTTPRequestHead) -> Int?

    /// Told once a response is queued for a request (refused, answered at once, or answered
    /// later after waiting), with its status and the seconds since its head arrived: where
    /// request metrics are counted. Called on a worker thread; must not block.
    func requestAnswered(_ head: HTTPRequestHead, status: Int, seconds: Double)
}

extension HTTPHandler {
    /// Every request gets the server's limit.
    public func maxBodyBytes(for head: HTTPRequestHead) -> Int? { nil }

    public func requestAnswered(_ head: HTTPRequestHead, status: Int, seconds: Double) {}
}

extension HTTPHandler {
    public func respond(to request: HTTPRequest) -> HTTPHandlerResult {
        .response(handle(request))
    }
}

/// What ``HTTPHandler/respond(to:)`` answers.
public enum HTTPHandlerResult: Sendable {
    /// The response, to send now.
    case response(HTTPResponse)
    /// A response given later through ``PendingResponse/complete(with:)``; the connection is
    /// parked until then.
    case deferred(PendingResponse)
}
