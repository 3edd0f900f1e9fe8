/// A request that cannot be served, with the HTTP status and a sentence saying what was wrong.
/// Endpoints throw it; the server turns it into an OCS error envelope and logs it.
public struct OCSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    /// Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 503.
    public var headers: [(String, String)]
    /// What went wrong inside, for the log only; never sent to the client.
    public var cause: String?

    public init(status: Int, message: String, headers: [(String, String)] = [], cause: String? = nil) {
        self.status = status
        self.message = message
        self.headers = headers
        self.cause = cause
    }

    public var description: String { "\(status) \(message)" }

    public static func == (lhs: OCSError, rhs: OCSError) -> Bool {
        lhs.status == rhs.status && lhs.message == rhs.message
    }

    public static func badRequest(_ message: String) -> OCSError { OCSError(status: 400, message: message) }
    public static func unauthorized(_ message: String) -> OCSError { OCSError(status: 401, message: message) }
    public static func forbidden(_ message: String) -> OCSError { OCSError(status: 403, message: message) }
    public static func notFound(_ message: String) -> OCSError { OCSError(status: 404, message: message) }
    public static func conflict(_ message: String) -> OCSError { OCSError(status: 409, message: message) }
    public static func unavailable(_ message: String, cause: String? = nil) -> OCSError {
        OCSError(status: 503, message: message, headers: [("Retry-After", "1")], cause: cause)
    }
    public static func internalError(cause: String) -> OCSError {
        OCSError(status: 500, message: "internal server error", cause: cause)
    }
}
