/// Why the server answered a request without calling ``HTTPHandler/handle(_:)``.
public enum HTTPRejection: Sendable, Equatable {
    /// The declared `Content-Length` is over the limit, or a chunked body grew past it.
    case bodyTooLarge(limit: Int)
    /// The path, the query or a header is not valid UTF-8; the string names which part.
    case invalidEncoding(String)
}
