import Logging
import Postgres
import Testing

/// Prepared statements, transactions, notices and connection state.
@Suite struct ConnectionTests {
    @Test func preparedStatementIsPreparedOnceAndSurvivesManyCalls() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "prepared")
            for value in 0..<500 {
                #expect(try connection.query("SELECT $1::int8 * 2 AS doubled", [value])[0].int("doubled") == value * 2)
            }
            let prepared = try connection.query(
                "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = $1",
                ["SELECT $1::int8 * 2 AS doubled"]
            )
            #expect(prepared[0].int("n") == 1)
        }
    }

    @Test func withoutPreparedStatementsNothingIsLeftInTheSessionAndParametersAreStillBound() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "unnamed", usesPreparedStatements: false)
            for value in 0..<50 {
                #expect(try connection.query("SELECT $1::int8 * 2 AS doubled", [value])[0].int("doubled") == value * 2)
            }
            // Bound, not interpolated: a value that would end a quoted literal comes back as it went.
            let quoted = "it's'); SELECT 1; --"
            #expect(try connection.query("SELECT $1::text AS echoed", [quoted])[0].string("echoed") == quoted)
            #expect(try connection.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].int("n") == 0)
        }
    }

    @Test func statementsArePreparedAgainWhenTheServerForgotThem() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "prepared_again")
            try connection.execute("CREATE TABLE item (id int8)")
            _ = try connection.query("INSERT INTO item VALUES ($1)", [Int64(1)])
            #expect(try connection.query("SELECT * FROM item").columnNames == ["id"])

            try connection.execute("DEALLOCATE ALL")
            #expect(try connection.query("SELECT * FROM item").rowCount == 1)

            try connection.execute("ALTER TABLE item ADD COLUMN label text")
            #expect(try connection.query("SELECT * FROM item").columnNames == ["id", "label"])
        }
    }

    @Test func transactionCommits() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "tx_commit")
            try connection.execute("CREATE TABLE entry (value text)")
            let returned = try connection.transaction { connection in
                _ = try connection.query("INSERT INTO entry VALUES ($1)", ["kept"])
                #expect(!connection.isIdle)
                return 42
            }
            #expect(returned == 42)
            #expect(connection.isIdle)
            #expect(try connection.query("SELECT value FROM entry").rows.map { $0.string("value") } == ["kept"])
        }
    }

    struct BodyFailure: Error {}

    @Test func transactionRollsBackWhenTheBodyThrows() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "tx_rollback")
            try connection.execute("CREATE TABLE entry (value text)")
            #expect(throws: BodyFailure.self) {
                try connection.transaction { connection in
                    _ = try connection.query("INSERT INTO entry VALUES ($1)", ["lost"])
                    throw BodyFailure()
                }
            }
            #expect(connection.isIdle)
            #expect(try connection.query("SELECT count(*) AS n FROM entry")[0].int("n") == 0)
        }
    }

    @Test func transactionWhoseBodySwallowedAServerErrorIsRolledBack() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "tx_swallowed")
            try connection.execute("CREATE TABLE entry (value text)")
            let error = #expect(throws: PostgresError.self) {
                try connection.transaction { connection in
                    _ = try connection.query("INSERT INTO entry VALUES ($1)", ["lost"])
                    _ = try? connection.query("SELECT 1 / 0")
                }
            }
            #expect(error?.sqlState == .inFailedSQLTransaction)
            #expect(connection.isIdle)
            #expect(try connection.query("SELECT count(*) AS n FROM entry")[0].int("n") == 0)
        }
    }

    @Test func noticesGoToTheLoggerAtDebugLevel() async throws {
        try await onOwnThread {
            let handler = RecordingLogHandler()
            var logger = Logger(label: "notices") { _ in handler }
            logger.logLevel = .debug
            let connection = try freshConnection(prefix: "notice", logger: logger)
            try connection.execute("DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$")
            let notices = handler.messages.current.filter { $0.message == "hello from the server" }
            #expect(notices.count == 1)
            #expect(notices.first?.level == .debug)
        }
    }

    @Test func resultMetadataAndClose() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "metadata")
            try connection.execute("CREATE TABLE entry (value int); INSERT INTO entry SELECT generate_series(1, 5)")
            #expect(try connection.query("UPDATE entry SET value = value + 1 WHERE value > $1", [2]).affectedRows == 3)
            let result = try connection.query("SELECT value, value * 10 AS tenfold FROM entry ORDER BY value")
            #expect(result.rowCount == 5)
            #expect(result.rows.map { $0.int("tenfold") } == [10, 20, 40, 50, 60])
            #expect(connection.backendPID > 0)
            connection.close()
            connection.close()
            #expect(!connection.isUsable)
            #expect(connection.backendPID == 0)
            // The result outlives its connection.
            #expect(result[4].int(at: 0) == 6)
            let error = #expect(throws: PostgresError.self) { try connection.query("SELECT 1") }
            #expect(error?.kind == .connectionLost)
        }
    }
}
