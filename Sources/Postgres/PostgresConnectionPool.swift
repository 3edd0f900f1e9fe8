import Logging

/// A thread-safe pool of ``PostgresConnection``s for blocking callers such as HTTP worker threads.
///
/// Connections are opened lazily, up to ``PostgresPoolConfiguration/maxConnections``, and
/// always outside the lock, so a slow connect never stalls borrowers that could reuse an idle
/// connection. Borrowers beyond the maximum wait up to the checkout timeout.
///
/// The pool heals itself after an outage: a connection that broke is discarded when it comes
/// back, an idle one the server hung up on is replaced at checkout, and the next borrower opens
/// a fresh connection.
public final class PostgresConnectionPool: Sendable {
    private let configuration: PostgresPoolConfiguration
    private let logger: Logger
    private let state: ConditionLock<PoolState>

    /// Creates a pool; no connection is opened until the first borrowing.
    public init(configuration: PostgresPoolConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = ConditionLock(PoolState())
    }

    /// Borrows a connection for the duration of `body` and returns what `body` returns.
    ///
    /// When `body` returns or throws, a connection that is no longer usable is discarded (the
    /// next borrower opens a fresh one) and one left inside a transaction is rolled back.
    ///
    /// - Throws: whatever `body` throws; ``PostgresError`` with kind
    ///   ``PostgresError/Kind/poolTimeout`` if no connection became free in time,
    ///   ``PostgresError/Kind/poolClosed`` after ``close()``, or
    ///   ``PostgresError/Kind/connectionFailed`` if opening a connection failed.
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let pooled = try checkOut()
        defer { checkIn(pooled) }
        return try body(pooled.connection)
    }

    /// Closes idle connections and refuses further checkouts with ``PostgresError/Kind/poolClosed``,
    /// then waits up to ``PostgresPoolConfiguration/closeTimeoutSeconds`` for borrowed
    /// connections, which are closed as they come back.
    public func close() {
        let idle = state.withLock { state in
            state.isClosed = true
            defer { state.idle.removeAll() }
            state.open -= state.idle.count
            return state.idle
        }
        state.signalAll()
        for pooled in idle {
            pooled.connection.close()
        }
        let deadline = Deadline(secondsFromNow: configuration.closeTimeoutSeconds)
        let stillBorrowed = state.withLock(waitingUntil: deadline) { state, deadlinePassed in
            state.borrowed == 0 || deadlinePassed ? state.borrowed : nil
        }
        if stillBorrowed > 0 {
            logger.warning("closed the pool with connections still borrowed", metadata: ["postgres.borrowed": "\(stillBorrowed)"])
        }
    }

    /// A snapshot of the pool's connections.
    public var statistics: PostgresPoolStatistics {
        state.withLock { state in
            PostgresPoolStatistics(open: state.open, idle: state.idle.count, borrowed: state.borrowed, waiting: state.waiting)
        }
    }

    private func checkOut() throws(PostgresError) -> PooledConnection {
        guard let observer = configuration.checkoutWaitObserver else { return try checkOutWaiting() }
        let started = ContinuousClock.now
        let pooled = try checkOutWaiting()
        let waited = ContinuousClock.now - started
        observer(Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18)
        return pooled
    }

    private func checkOutWaiting() throws(PostgresError) -> PooledConnection {
        let deadline = Deadline(secondsFromNow: configuration.checkoutTimeoutSeconds)
        var isCountedAsWaiting = false
        let checkout = try state.withLock(waitingUntil: deadline) { (state, deadlinePassed) throws(PostgresError) -> Checkout? in
            if isCountedAsWaiting {
                state.waiting -= 1
                isCountedAsWaiting = false
            }
            if state.isClosed {
                throw PostgresError(kind: .poolClosed, message: "the connection pool is closed")
            }
            if let pooled = state.idle.popLast() {
                state.borrowed += 1
                return .reuse(pooled)
            }
            if state.open < configuration.maxConnections {
                state.open += 1
                state.borrowed += 1
                return .openNew
            }
            if deadlinePassed {
                throw PostgresError(
                    kind: .poolTimeout,
                    message: "no database connection became free within \(configuration.checkoutTimeoutSeconds) seconds"
                )
            }
            state.waiting += 1
            isCountedAsWaiting = true
            return nil
        }

        if case .reuse(let pooled) = checkout {
            guard pooled.connection.hasServerHungUp() else {
                return pooled
            }
            // The slot stays reserved for this borrower; only the dead connection is replaced.
            logger.info("replacing a pooled connection the server closed")
            pooled.connection.close()
        }
        return try openConnection()
    }

    /// Opens a connection for a slot already reserved under the lock; gives the slot back on failure.
    private func openConnection() throws(PostgresError) -> PooledConnection {
        do {
            let connection = try PostgresConnection(
                connectionString: configuration.connectionString,
                defaults: [("connect_timeout", String(configuration.connectTimeoutSeconds))],
                usesPreparedStatements: configuration.usesPreparedStatements, logger: logger
            )
            return PooledConnection(connection: connection)
        } catch {
            state.withLock { state in
                state.open -= 1
                state.borrowed -= 1
            }
            state.signalOne()
            logger.warning("could not open a database connection", metadata: ["postgres.error": "\(error)"])
            throw error
        }
    }

    private func checkIn(_ pooled: PooledConnection) {
        let connection = pooled.connection
        if connection.isUsable && !connection.isIdle {
            logger.debug("rolling back a transaction a borrower left open")
            connection.rollBackQuietly()
        }
        let isReusable = connection.isUsable && connection.isIdle
        let (kept, isClosed) = state.withLock { state in
            state.borrowed -= 1
            if isReusable && !state.isClosed {
                state.idle.append(pooled)
                return (true, false)
            }
            state.open -= 1
            return (false, state.isClosed)
        }
        if !kept {
            if !isReusable {
                logger.info("discarding a database connection that is no longer usable")
            }
            connection.close()
        }
        // After close() every waiter must re-check (checkouts fail, close() counts borrowed).
        if isClosed {
            state.signalAll()
        } else {
            state.signalOne()
        }
    }
}

/// What a checkout decided under the lock; the slow part (connecting) happens after unlocking.
private enum Checkout {
    case reuse(PooledConnection)
    case openNew
}

/// The pool's bookkeeping, guarded by its ``ConditionLock``.
private struct PoolState: Sendable {
    /// Idle connections, most recently returned last, so the warmest one is reused first.
    var idle: [PooledConnection] = []
    /// Connections open or being opened, borrowed or idle.
    var open = 0
    var borrowed = 0
    var waiting = 0
    var isClosed = false
}

/// A connection held by the pool.
///
/// `PostgresConnection` is not `Sendable` because it must have one user at a time. The pool
/// guarantees exactly that: a connection is either in `PoolState.idle`, touched only under the
/// lock, or lent to a single borrower, and it moves between the two only under the lock. That
/// ownership hand-over is what makes sending it across threads safe.
private struct PooledConnection: @unchecked Sendable {
    let connection: PostgresConnection
}
