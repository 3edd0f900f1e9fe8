import Postgres
import TaskDispatchTesting
import Testing

/// The pool bounds connections, times out, rolls back, and recovers from lost connections.
@Suite struct PoolTests {
    private func makePool(
        _ connectionString: String,
        maxConnections: Int,
        checkoutTimeoutSeconds: Double = 30
    ) -> PostgresConnectionPool {
        PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(
                connectionString: connectionString,
                maxConnections: maxConnections,
                checkoutTimeoutSeconds: checkoutTimeoutSeconds
            ),
            logger: quietLogger
        )
    }

    @Test func manyThreadsNeverOpenMoreThanTheMaximum() async throws {
        try await onOwnThread {
            let database = try TestDatabase.create(prefix: "pool_bound")
            let pool = makePool(database, maxConnections: 4)
            defer { pool.close() }
            let highestOpen = Shared(0)
            let highestServerSessions = Shared(0)
            let failures = Shared<[String]>([])
            let borrowings = Shared(0)

            onThreads(16) { thread in
                for round in 0..<100 {
                    do {
                        try pool.withConnection { connection in
                            let open = pool.statistics.open
                            highestOpen.update { $0 = max($0, open) }
                            borrowings.update { $0 += 1 }
                            if round % 10 == 0 {
                                let sessions = try connection.query(
                                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                                )[0].int("n") ?? 0
                                highestServerSessions.update { $0 = max($0, sessions) }
                            } else {
                                _ = try connection.query("SELECT $1::int8 AS thread", [thread])
                            }
                        }
                    } catch {
                        failures.update { $0.append("\(error)") }
                    }
                }
            }

            #expect(failures.current.isEmpty)
            #expect(borrowings.current == 1_600)
            #expect(highestOpen.current <= 4)
            #expect(highestServerSessions.current >= 1)
            #expect(highestServerSessions.current <= 4)
            let statistics = pool.statistics
            #expect(statistics.borrowed == 0)
            #expect(statistics.waiting == 0)
            #expect(statistics.open == statistics.idle)
            #expect(statistics.open <= 4)

            let observer = try PostgresConnection(connectionString: try TestDatabase.superuserConnectionString(), logger: quietLogger)
            let databaseName = try pool.withConnection { try $0.query("SELECT current_database() AS name")[0].string("name") }
            let sessions = try observer.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1",
                [databaseName]
            )[0].int("n")
            #expect(sessions == statistics.open)
        }
    }

    @Test(arguments: [true, false])
    func pooledConnectionsPrepareStatementsOnlyWhenConfiguredTo(usesPreparedStatements: Bool) async throws {
        try await onOwnThread {
            let pool = PostgresConnectionPool(
                configuration: PostgresPoolConfiguration(
                    connectionString: try TestDatabase.create(prefix: "pool_prepared"), maxConnections: 1,
                    usesPreparedStatements: usesPreparedStatements),
                logger: quietLogger)
            defer { pool.close() }
            let prepared = try pool.withConnection { connection in
                _ = try connection.query("SELECT $1::int8 AS one", [1])
                return try connection.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].int("n")
            }
            // Both statements when preparing (the count sees itself), none otherwise.
            #expect(prepared == (usesPreparedStatements ? 2 : 0))
        }
    }

    @Test func checkoutTimesOutWhenEveryConnectionIsBorrowed() async throws {
        try await onOwnThread {
            let pool = makePool(try TestDatabase.create(prefix: "pool_timeout"), maxConnections: 1, checkoutTimeoutSeconds: 0.2)
            defer { pool.close() }
            let error = #expect(throws: PostgresError.self) {
                try pool.withConnection { _ in
                    try pool.withConnection { _ in }
                }
            }
            #expect(error?.kind == .poolTimeout)
            #expect(error?.isUnavailable == true)
            #expect(pool.statistics == PostgresPoolStatistics(open: 1, idle: 1, borrowed: 0, waiting: 0))
        }
    }

    @Test func connectionLeftInATransactionIsRolledBack() async throws {
        try await onOwnThread {
            let pool = makePool(try TestDatabase.create(prefix: "pool_rollback"), maxConnections: 1)
            defer { pool.close() }
            try pool.withConnection { try $0.execute("CREATE TABLE entry (value text)") }
            let firstPID = try pool.withConnection { connection in
                try connection.execute("BEGIN")
                _ = try connection.query("INSERT INTO entry VALUES ($1)", ["abandoned"])
                return connection.backendPID
            }
            try pool.withConnection { connection throws in
                #expect(connection.backendPID == firstPID)
                #expect(connection.isIdle)
                #expect(try connection.query("SELECT count(*) AS n FROM entry")[0].int("n") == 0)
            }
        }
    }

    @Test func terminatedConnectionFailsOnceThenThePoolReconnects() async throws {
        try await onOwnThread {
            let pool = makePool(try TestDatabase.create(prefix: "pool_terminated"), maxConnections: 2)
            defer { pool.close() }
            let admin = try PostgresConnection(connectionString: try TestDatabase.superuserConnectionString(), logger: quietLogger)

            var killedPID: Int32 = 0
            let error = #expect(throws: PostgresError.self) {
                try pool.withConnection { connection in
                    killedPID = connection.backendPID
                    // The second argument makes the server wait until the backend has exited.
                    #expect(try admin.query("SELECT pg_terminate_backend($1, 10000) AS done", [killedPID])[0].bool("done") == true)
                    _ = try connection.query("SELECT 1 AS one")
                }
            }
            #expect(error?.isUnavailable == true)

            let (pid, one) = try pool.withConnection { connection in
                (connection.backendPID, try connection.query("SELECT 1 AS one")[0].int("one"))
            }
            #expect(one == 1)
            #expect(pid != killedPID)
        }
    }

    @Test func idleConnectionTheServerClosedIsReplacedAtCheckout() async throws {
        try await onOwnThread {
            let pool = makePool(try TestDatabase.create(prefix: "pool_idle_killed"), maxConnections: 1)
            defer { pool.close() }
            let admin = try PostgresConnection(connectionString: try TestDatabase.superuserConnectionString(), logger: quietLogger)
            let idlePID = try pool.withConnection { $0.backendPID }
            #expect(try admin.query("SELECT pg_terminate_backend($1, 10000) AS done", [idlePID])[0].bool("done") == true)

            let pid = try pool.withConnection { connection throws in
                #expect(try connection.query("SELECT 1 AS one")[0].int("one") == 1)
                return connection.backendPID
            }
            #expect(pid != idlePID)
            #expect(pool.statistics.open == 1)
        }
    }

    @Test func closedPoolRefusesCheckouts() async throws {
        try await onOwnThread {
            let pool = makePool(try TestDatabase.create(prefix: "pool_closed"), maxConnections: 2)
            try pool.withConnection { _ = try $0.query("SELECT 1") }
            pool.close()
            #expect(pool.statistics.open == 0)
            let error = #expect(throws: PostgresError.self) { try pool.withConnection { _ in } }
            #expect(error?.kind == .poolClosed)
        }
    }

    @Test func failedConnectGivesTheSlotBack() async throws {
        try await onOwnThread {
            let pool = makePool("host=/nonexistent-taskdispatch-socket dbname=nothing", maxConnections: 1)
            for _ in 0..<3 {
                let error = #expect(throws: PostgresError.self) { try pool.withConnection { _ in } }
                #expect(error?.kind == .connectionFailed)
            }
            #expect(pool.statistics == PostgresPoolStatistics(open: 0, idle: 0, borrowed: 0, waiting: 0))
        }
    }
}
