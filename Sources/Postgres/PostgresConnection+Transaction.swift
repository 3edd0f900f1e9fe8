import CLibPQ

extension PostgresConnection {
    /// Runs `body` inside `BEGIN` … `COMMIT` and returns its value.
    ///
    /// If `body` throws, the transaction is rolled back and the body's error is rethrown. If
    /// `body` swallowed a server error, the transaction cannot commit: it is rolled back and a
    /// ``PostgresError`` with SQLSTATE `25P02` is thrown. Transactions do not nest; calling this
    /// from inside `body`, or while a transaction opened with `BEGIN` is open, is a programmer
    /// error (use `SAVEPOINT` for nested work).
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        precondition(!isRunningTransactionBody, "PostgresConnection.transaction does not nest")
        precondition(
            transactionStatus != PQTRANS_INTRANS && transactionStatus != PQTRANS_INERROR,
            "PostgresConnection.transaction called while another transaction is open"
        )
        isRunningTransactionBody = true
        defer { isRunningTransactionBody = false }

        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollBackQuietly()
            throw error
        }
        if transactionStatus == PQTRANS_INERROR {
            // COMMIT would silently turn into ROLLBACK here; make that loud.
            rollBackQuietly()
            throw PostgresError(
                kind: .server,
                sqlState: .inFailedSQLTransaction,
                message: "the transaction was aborted by an earlier error and has been rolled back"
            )
        }
        try execute("COMMIT")
        return value
    }

    /// Rolls back after a failure that is already being reported; a rollback that fails too
    /// (the connection is gone) changes nothing for the caller, so it is only logged.
    func rollBackQuietly() {
        guard isUsable, !isIdle else { return }
        do {
            try execute("ROLLBACK")
        } catch {
            logger.debug("rollback failed", metadata: ["postgres.error": "\(error)"])
        }
    }
}
