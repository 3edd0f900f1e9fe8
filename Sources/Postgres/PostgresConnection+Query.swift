import CLibPQ

extension PostgresConnection {
    /// Runs one statement with bound parameters (`$1`, `$2`, …).
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
    ///   - parameters: one value per placeholder; `Optional.none` binds SQL NULL. Values go in
    ///     text format, `[UInt8]` as binary `bytea` (see ``PostgresParameter``).
    /// - Throws: ``PostgresError``; a parameter containing a NUL character is refused before it
    ///   is sent with SQLSTATE `22021`, as the server would refuse it, because C strings cannot carry it.
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> PostgresResult {
        try run(sql, parameters.map(\.postgresParameter), resultFormat: .text)
    }

    /// Runs one statement whose values are bound where the SQL names them:
    /// `try connection.query("SELECT name FROM users WHERE id = \(bind: id)")`.
    ///
    /// Prepared, cached and retried exactly as ``query(_:_:)``.
    ///
    /// - Parameter resultFormat: `.binary` to receive values in binary format, so that a
    ///   `bytea` column arrives as its bytes rather than hex text of twice the size. Every
    ///   column must then be of a type ``PostgresRow`` decodes in binary (see ``PostgresResultFormat``).
    @_disfavoredOverload  // A plain literal stays a `String` and runs exactly as before.
    public func query(_ query: PostgresQuery, resultFormat: PostgresResultFormat = .text) throws(PostgresError) -> PostgresResult {
        try run(query.sql, query.parameters, resultFormat: resultFormat)
    }

    /// Runs one statement with bound values for its effect, and returns how many rows it
    /// inserted, updated, deleted or selected (see ``PostgresResult/affectedRows``).
    ///
    /// Unlike `execute(_:)` with a `String`, this runs exactly one statement, prepared like ``query(_:_:)``;
    /// a plain literal without interpolations still goes to the simple query protocol.
    @discardableResult
    @_disfavoredOverload
    public func execute(_ query: PostgresQuery) throws(PostgresError) -> Int {
        try self.query(query).affectedRows
    }

    /// Runs one or more statements without parameters through the simple query protocol:
    /// migrations, `BEGIN`/`COMMIT`, `SET`. Any rows they return are discarded.
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try checkedResult { PQexec($0, sql) }
    }

    private func run(
        _ sql: String, _ parameters: [PostgresParameter], resultFormat: PostgresResultFormat
    ) throws(PostgresError) -> PostgresResult {
        try checkSendable(parameters)
        let types = parameters.map(\.typeOID)
        let key = PreparedStatementCache.Key(sql: sql, parameterTypes: types.contains { $0 != 0 } ? types : [])

        if let name = preparedStatements.name(for: key) {
            do {
                return try executePrepared(name, parameters, resultFormat)
            } catch where isStalePreparedStatement(error) && transactionStatus == PQTRANS_IDLE {
                logger.debug("preparing a stale statement again", metadata: ["postgres.error": "\(error.message)"])
                preparedStatements.remove(key)
                _ = try? checkedResult { PQexec($0, "DEALLOCATE \(name)") }
            }
        }

        guard let name = preparedStatements.reserveName() else {
            return try withParameterArrays(parameters) { arrays in
                Result { () throws(PostgresError) in
                    try withDeclaredTypes(key.parameterTypes) { types throws(PostgresError) in
                        try checkedResult {
                            PQexecParams(
                                $0, sql, arrays.count, types, arrays.values, arrays.lengths, arrays.formats, resultFormat.code)
                        }
                    }
                }
            }.get()
        }
        _ = try withDeclaredTypes(key.parameterTypes) { types throws(PostgresError) in
            try checkedResult { PQprepare($0, name, sql, Int32(key.parameterTypes.count), types) }
        }
        preparedStatements.insert(name, for: key)
        return try executePrepared(name, parameters, resultFormat)
    }

    private func executePrepared(
        _ name: String, _ parameters: [PostgresParameter], _ resultFormat: PostgresResultFormat
    ) throws(PostgresError) -> PostgresResult {
        try withParameterArrays(parameters) { arrays in
            Result { () throws(PostgresError) in
                try checkedResult {
                    PQexecPrepared($0, name, arrays.count, arrays.values, arrays.lengths, arrays.formats, resultFormat.code)
                }
            }
        }.get()
    }

    /// Refuses, before anything is sent, parameters that libpq cannot pass on.
    private func checkSendable(_ parameters: [PostgresParameter]) throws(PostgresError) {
        if let position = parameters.firstIndex(where: \.containsNUL) {
            throw PostgresError(
                kind: .server,
                sqlState: .characterNotInRepertoire,
                message: "parameter $\(position + 1) contains a NUL character, which PostgreSQL text cannot hold"
            )
        }
        // libpq takes lengths as C ints; PostgreSQL itself stores at most 1 GB in one value.
        if let position = parameters.firstIndex(where: { $0.binaryLength > Int(Int32.max) }) {
            throw PostgresError(
                kind: .server,
                sqlState: .programLimitExceeded,
                message: "parameter $\(position + 1) has \(parameters[position].binaryLength) bytes, more than one value can hold"
            )
        }
    }

    /// Calls `body` with the declared parameter types for libpq, or NULL when none is declared.
    private func withDeclaredTypes<T>(
        _ types: [UInt32], _ body: (UnsafePointer<Oid>?) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        guard !types.isEmpty else { return try body(nil) }
        return try types.withUnsafeBufferPointer { buffer in
            Result { () throws(PostgresError) in try body(buffer.baseAddress) }
        }.get()
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
