/// A five-character SQLSTATE code, as PostgreSQL reports it with every error.
///
/// The first two characters name the error class (`23` integrity constraint violation,
/// `08` connection exception, …), so callers can handle a whole class at once with
/// ``errorClass``. See the "PostgreSQL Error Codes" appendix of the PostgreSQL manual.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code itself, for example `"23505"`.
    public let rawValue: String

    /// Wraps a code as reported by the server.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The two-character class of the code, for example `"23"` for every integrity constraint violation.
    public var errorClass: String {
        String(rawValue.prefix(2))
    }

    /// The code itself.
    public var description: String {
        rawValue
    }
}

extension SQLState {
    // Class 08: connection exception. Only the class matters to callers (see `PostgresError.isUnavailable`).

    /// The class of every connection exception (`08xxx`).
    public static let connectionExceptionClass = "08"

    // Class 0A: feature not supported.

    /// `0A000`: a feature the server does not support in this context.
    public static let featureNotSupported = SQLState(rawValue: "0A000")

    // Class 22: data exception.

    /// `22003`: a number does not fit its type.
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    /// `22012`: division by zero.
    public static let divisionByZero = SQLState(rawValue: "22012")
    /// `22021`: a character the encoding cannot represent, such as NUL in text.
    public static let characterNotInRepertoire = SQLState(rawValue: "22021")
    /// `22P02`: text that does not parse as the target type, for example `'abc'::int`.
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")

    // Class 23: integrity constraint violation.

    /// `23502`: a NULL in a `NOT NULL` column.
    public static let notNullViolation = SQLState(rawValue: "23502")
    /// `23503`: a reference to a row that does not exist, or deleting a row still referenced.
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    /// `23505`: a duplicate key in a unique index.
    public static let uniqueViolation = SQLState(rawValue: "23505")
    /// `23514`: a row that fails a `CHECK` constraint.
    public static let checkViolation = SQLState(rawValue: "23514")

    // Class 25 and 26: transaction state and statement names.

    /// `25P02`: a statement sent inside a transaction that an earlier error already aborted.
    public static let inFailedSQLTransaction = SQLState(rawValue: "25P02")
    /// `26000`: a prepared statement name the server does not know (for example after `DEALLOCATE ALL`).
    public static let invalidSQLStatementName = SQLState(rawValue: "26000")

    // Class 40: transaction rollback. Both are worth retrying the whole transaction.

    /// `40001`: a serializable transaction conflicted with a concurrent one.
    public static let serializationFailure = SQLState(rawValue: "40001")
    /// `40P01`: the server broke a deadlock by aborting this transaction.
    public static let deadlockDetected = SQLState(rawValue: "40P01")

    // Class 42: syntax error or access rule violation.

    /// `42601`: the statement does not parse.
    public static let syntaxError = SQLState(rawValue: "42601")
    /// `42P01`: a table that does not exist.
    public static let undefinedTable = SQLState(rawValue: "42P01")

    // Class 54: program limit exceeded.

    /// `54000`: a value or statement beyond what PostgreSQL (or libpq) can hold.
    public static let programLimitExceeded = SQLState(rawValue: "54000")

    // Class 57: operator intervention.

    /// `57014`: the statement was cancelled, by request or by `statement_timeout`.
    public static let queryCanceled = SQLState(rawValue: "57014")
    /// `57P01`: the server is shutting down, or an administrator terminated this backend.
    public static let adminShutdown = SQLState(rawValue: "57P01")
    /// `57P02`: the server terminated this backend because another one crashed.
    public static let crashShutdown = SQLState(rawValue: "57P02")
    /// `57P03`: the server is starting up or shutting down and accepts no connections yet.
    public static let cannotConnectNow = SQLState(rawValue: "57P03")

    /// Codes that mean the server is going away or not there yet, rather than that the request was wrong.
    static let unavailableCodes: Set<SQLState> = [.adminShutdown, .crashShutdown, .cannotConnectNow]
}
