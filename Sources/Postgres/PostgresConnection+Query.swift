import CLibPQ

extension PostgresConnection {
    /// Runs one statement with bound text parameters (`$1`, `$2`, …).
    ///
    /// The statement is prepared once per connection, under a name cached by its SQL text, and
    /// then run with `PQexecPrepared`, so repeated statements skip parsing and planning setup.
    /// A statement the server no longer knows (after `DEALLOCATE ALL`, or whose result columns
    /// changed after `ALTER TABLE`) is prepared again transparently outside a transaction.
    /// A connection opened with `usesPreparedStatements: false` runs every statement as the
    /// unnamed statement (`PQexecParams`): parsed each time, parameters still bound, nothing
    /// left in the server session.
    ///
    /// - Parameters:
    ///   - sql: exactly one SQL statement.
    ///   - parameters: one value per placeholder; `Optional.none` binds SQL NULL.
    /// - Throws: ``PostgresError``; a parameter containing a NUL character is refused before it
    ///   is sent with SQLSTATE `22021`, as the server would refuse it, because C strings cannot carry it.
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> PostgresResult {
        let values = parameters.map(\.postgresText)
        if let position = values.firstIndex(where: { $0?.utf8.contains(0) ?? false }) {
            throw PostgresError(
                kind: .server,
                sqlState: .characterNotInRepertoire,
                message: "parameter $\(position + 1) contains a NUL character, which PostgreSQL text cannot hold"
            )
        }

        if let name = preparedStatements.name(for: sql) {
            do {
                return try executePrepared(name, values)
            } catch where isStalePreparedStatement(error) && transactionStatus == PQTRANS_IDLE {
                logger.debug("preparing a stale statement again", metadata: ["postgres.error": "\(error.message)"])
                preparedStatements.remove(sql)
                _ = try? checkedResult { PQexec($0, "DEALLOCATE \(name)") }
            }
        }

        guard let name = preparedStatements.reserveName(for: sql) else {
            return try withCStringArray(values) { (pointers) throws(PostgresError) in
                try checkedResult { PQexecParams($0, sql, Int32(values.count), nil, pointers, nil, nil, 0) }
            }
        }
        _ = try checkedResult { PQprepare($0, name, sql, 0, nil) }
        preparedStatements.insert(name, for: sql)
        return try executePrepared(name, values)
    }

    /// Runs one or more statements without parameters through the simple query protocol:
    /// migrations, `BEGIN`/`COMMIT`, `SET`. Any rows they return are discarded.
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try checkedResult { PQexec($0, sql) }
    }

    private func executePrepared(_ name: String, _ values: [String?]) throws(PostgresError) -> PostgresResult {
        try withCStringArray(values) { (pointers) throws(PostgresError) in
            try checkedResult { PQexecPrepared($0, name, Int32(values.count), pointers, nil, nil, 0) }
        }
    }

    /// True for errors that mean the cached server-side statement cannot be used as it is.
    private func isStalePreparedStatement(_ error: PostgresError) -> Bool {
        switch error.sqlState {
        case SQLState.invalidSQLStatementName:
            return true
        case SQLState.featureNotSupported:
            // The server's words for a plan whose result columns changed; there is no dedicated SQLSTATE.
            return error.message.contains("cached plan must not change result type")
        default:
            return false
        }
    }
}
