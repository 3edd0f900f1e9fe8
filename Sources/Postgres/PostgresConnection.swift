import CLibPQ
import Logging

/// One connection to PostgreSQL.
///
/// Calls block the calling thread until the server answers. A connection is not thread-safe:
/// it has one owner at a time (a thread, or the current borrower from a ``PostgresConnectionPool``).
public final class PostgresConnection {
    /// The `PGconn`; owned by this object alone, `nil` once closed.
    private var handle: OpaquePointer?
    let logger: Logger
    private let noticeForwarder: NoticeForwarder
    /// Statements prepared on this connection's current session.
    var preparedStatements: PreparedStatementCache
    /// Set while ``transaction(_:)`` runs its body, to catch nesting.
    var isRunningTransactionBody = false

    /// Connects with a libpq connection string (`key=value …` or a `postgresql://` URI).
    ///
    /// - Parameter usesPreparedStatements: whether ``query(_:_:)`` prepares each statement once
    ///   under a name; false runs every statement unnamed, as PgBouncer's transaction pooling
    ///   (before 1.21) needs.
    /// - Throws: ``PostgresError/Kind/connectionFailed`` with libpq's reason; the password is never part of it.
    public convenience init(connectionString: String, usesPreparedStatements: Bool = true, logger: Logger) throws(PostgresError) {
        try self.init(connectionString: connectionString, defaults: [], usesPreparedStatements: usesPreparedStatements, logger: logger)
    }

    /// Connects, using `defaults` for settings the connection string does not give itself.
    init(
        connectionString: String, defaults: [(keyword: String, value: String)], usesPreparedStatements: Bool = true,
        logger: Logger
    ) throws(PostgresError) {
        // Keywords are applied in order: the defaults first, then everything the string holds
        // (expand_dbname), then UTF-8, which every text conversion in this module assumes.
        let keywords = defaults.map(\.keyword) + ["dbname", "client_encoding", nil]
        let values = defaults.map(\.value) + [connectionString, "UTF8", nil]
        let connection = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in
                PQconnectdbParams(keywords, values, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = ConnectionStringSecrets.redact(Self.errorMessage(of: connection), connectionString: connectionString)
            PQfinish(connection)
            throw PostgresError(kind: .connectionFailed, message: reason)
        }
        self.handle = connection
        self.preparedStatements = PreparedStatementCache(capacity: usesPreparedStatements ? PreparedStatementCache.defaultCapacity : 0)
        self.logger = logger
        self.noticeForwarder = NoticeForwarder(logger: logger)
        noticeForwarder.install(on: connection)
        logger.debug("connected to PostgreSQL", metadata: ["postgres.backend_pid": "\(PQbackendPID(connection))"])
    }

    deinit {
        close()
    }

    /// True while the connection is open and healthy as far as libpq knows (`CONNECTION_OK`).
    /// A server that went away is noticed by the next call, which then fails and clears this.
    public var isUsable: Bool {
        handle.map { PQstatus($0) == CONNECTION_OK } ?? false
    }

    /// True when no transaction is open (`PQTRANS_IDLE`).
    public var isIdle: Bool {
        transactionStatus == PQTRANS_IDLE
    }

    /// The process ID of the server backend serving this connection; 0 once closed.
    public var backendPID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// Closes the connection. Closing twice does nothing; `deinit` closes too.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        preparedStatements.removeAll()
        PQfinish(handle)
    }

    /// libpq's view of the transaction state; `PQTRANS_UNKNOWN` once closed or broken.
    var transactionStatus: PGTransactionStatusType {
        handle.map { PQtransactionStatus($0) } ?? PQTRANS_UNKNOWN
    }

    /// The connection's socket, for polling; `nil` once closed.
    var socketDescriptor: Int32? {
        guard let handle else { return nil }
        let socket = PQsocket(handle)
        return socket >= 0 ? socket : nil
    }

    /// Reads and parses whatever the server has sent while no call was running; an error sent
    /// while idle is reported to the notice receiver. Returns false if reading failed.
    func consumeWaitingInput() -> Bool {
        guard let handle, PQconsumeInput(handle) == 1 else { return false }
        _ = PQisBusy(handle)
        return true
    }

    /// The next notification libpq has already read (after ``consumeWaitingInput()``), if any.
    func takeNotification() -> PostgresNotification? {
        guard let handle, let raw = PQnotifies(handle) else { return nil }
        defer { PQfreemem(raw) }
        return PostgresNotification(
            channel: String(cString: raw.pointee.relname),
            payload: raw.pointee.extra.map { String(cString: $0) } ?? "",
            senderPID: raw.pointee.be_pid)
    }

    /// Runs one raw libpq call that returns a `PGresult` and turns every way it can fail into a ``PostgresError``.
    ///
    /// This is the only place results are checked: a missing result, an error result, a lost
    /// connection and a result status this module cannot handle all end here.
    func checkedResult(_ call: (OpaquePointer) -> OpaquePointer?) throws(PostgresError) -> PostgresResult {
        guard let handle else {
            throw PostgresError(kind: .connectionLost, message: "the connection is closed")
        }
        guard let raw = call(handle) else {
            throw failure(message: Self.errorMessage(of: handle), sqlState: nil, detail: nil, handle: handle)
        }
        let result = PostgresResult(owning: raw)
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            let message = result.errorField(CLibPQ_DIAG_MESSAGE_PRIMARY)
                ?? Self.trimmed(String(cString: PQresultErrorMessage(result.handle)))
            throw failure(
                message: message,
                sqlState: result.errorField(CLibPQ_DIAG_SQLSTATE).map(SQLState.init(rawValue:)),
                detail: result.errorField(CLibPQ_DIAG_MESSAGE_DETAIL),
                handle: handle
            )
        default:
            // COPY and the other streaming modes leave the protocol mid-conversation; nothing this
            // API offers can continue it, so the connection is closed rather than handed on broken.
            let status = String(cString: PQresStatus(result.status))
            close()
            throw PostgresError(kind: .unexpectedResult, message: "unsupported result status \(status); the connection was closed")
        }
    }

    /// Classifies a failed call: a broken connection wins over everything else, because then the
    /// server is gone whatever it managed to say (a terminated backend's error may carry no SQLSTATE).
    private func failure(message: String, sqlState: SQLState?, detail: String?, handle: OpaquePointer) -> PostgresError {
        if PQstatus(handle) == CONNECTION_BAD {
            preparedStatements.removeAll()
            logger.debug("PostgreSQL connection lost", metadata: ["postgres.error": "\(message)"])
            return PostgresError(kind: .connectionLost, sqlState: sqlState, message: message, detail: detail)
        }
        return PostgresError(kind: sqlState == nil ? .unexpectedResult : .server, sqlState: sqlState, message: message, detail: detail)
    }

    private static func errorMessage(of connection: OpaquePointer) -> String {
        trimmed(String(cString: PQerrorMessage(connection)))
    }

    private static func trimmed(_ message: String) -> String {
        String(message.reversed().drop(while: \.isWhitespace).reversed())
    }
}
