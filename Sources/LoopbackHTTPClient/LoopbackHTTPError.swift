/// Why a ``LoopbackHTTPClient`` exchange failed.
public struct LoopbackHTTPError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for tests that expect a particular one.
    public enum Kind: Sendable, Equatable {
        /// The host is not an address, or the connection was refused.
        case connectFailed
        /// The timeout passed before the exchange finished.
        case timedOut
        /// Writing the request failed.
        case sendFailed
        /// Reading failed, or the server closed the connection before the response was complete.
        case receiveFailed
        /// The bytes received are not an HTTP/1.x response.
        case malformedResponse
    }

    /// The kind of failure.
    public let kind: Kind
    /// What exactly went wrong, e.g. the errno text.
    public let detail: String

    /// Creates an error.
    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// A one-line explanation.
    public var description: String {
        "\(kind): \(detail)"
    }
}
