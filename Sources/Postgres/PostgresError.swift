/// A failure talking to PostgreSQL.
///
/// ``kind`` says where it failed; for errors the server reported, ``sqlState`` says what failed.
/// The description never contains the connection string's password.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// Where the failure happened.
    public enum Kind: Sendable, Equatable {
        /// Could not connect.
        case connectionFailed
        /// The connection broke during a call.
        case connectionLost
        /// No pooled connection became free within the checkout timeout.
        case poolTimeout
        /// The pool was closed and hands out no more connections.
        case poolClosed
        /// The server answered with an error; ``PostgresError/sqlState`` is set.
        case server
        /// Something the client did not expect, for example a result status it cannot handle.
        case unexpectedResult
    }

    /// Where the failure happened.
    public let kind: Kind
    /// The SQLSTATE the server reported, if it reported one.
    public let sqlState: SQLState?
    /// The primary, human-readable message.
    public let message: String
    /// The server's optional detail line, for example which key was duplicated.
    public let detail: String?

    /// Creates an error; the library creates these, tests and adapters may too.
    public init(kind: Kind, sqlState: SQLState? = nil, message: String, detail: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
    }

    /// True when the database is unreachable or going away rather than the request being wrong:
    /// connection failures, lost connections, pool timeouts, a closed pool, SQLSTATE class `08`
    /// and `57P01`–`57P03`. Callers answer such failures with 503 Service Unavailable.
    public var isUnavailable: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout, .poolClosed:
            return true
        case .server, .unexpectedResult:
            guard let sqlState else { return false }
            return sqlState.errorClass == SQLState.connectionExceptionClass
                || SQLState.unavailableCodes.contains(sqlState)
        }
    }

    /// One line naming the kind, the SQLSTATE if any, the message and the detail if any.
    public var description: String {
        var text = "PostgresError.\(kind)"
        if let sqlState {
            text += " [\(sqlState)]"
        }
        text += ": \(message)"
        if let detail {
            text += " (\(detail))"
        }
        return text
    }
}
