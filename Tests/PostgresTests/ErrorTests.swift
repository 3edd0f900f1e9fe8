import Postgres
import Testing

/// Server errors carry their SQLSTATE; connection failures are unavailable and keep secrets out.
@Suite struct ErrorTests {
    @Test func uniqueViolationCarriesSQLStateAndDetail() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "error_unique")
            try connection.execute("CREATE TABLE account (email text PRIMARY KEY)")
            _ = try connection.query("INSERT INTO account VALUES ($1)", ["a@example.org"])
            let error = #expect(throws: PostgresError.self) {
                try connection.query("INSERT INTO account VALUES ($1)", ["a@example.org"])
            }
            #expect(error?.kind == .server)
            #expect(error?.sqlState == .uniqueViolation)
            #expect(error?.sqlState?.errorClass == "23")
            #expect(error?.detail?.contains("a@example.org") == true)
            #expect(error?.isUnavailable == false)
            // A server error leaves the connection usable.
            #expect(connection.isUsable)
            #expect(try connection.query("SELECT count(*) AS n FROM account")[0].int("n") == 1)
        }
    }

    @Test(arguments: [
        ("SELECT 1 / 0", SQLState.divisionByZero),
        ("SELEC 1", SQLState.syntaxError),
        ("SELECT * FROM no_such_table", SQLState.undefinedTable),
        ("SELECT 'abc'::int", SQLState.invalidTextRepresentation),
    ])
    func serverErrorsCarryTheirSQLState(sql: String, expected: SQLState) async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "error_state")
            let fromQuery = #expect(throws: PostgresError.self) { try connection.query(sql) }
            #expect(fromQuery?.kind == .server)
            #expect(fromQuery?.sqlState == expected)
            let fromExecute = #expect(throws: PostgresError.self) { try connection.execute(sql) }
            #expect(fromExecute?.sqlState == expected)
            #expect(fromExecute?.isUnavailable == false)
        }
    }

    @Test func nulCharacterInAParameterIsRefused() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "error_nul")
            let error = #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["a\u{0}b"]) }
            #expect(error?.sqlState == .characterNotInRepertoire)
        }
    }

    @Test(arguments: [
        "host=/nonexistent-taskdispatch-socket port=5432 user=someone password=secret123 dbname=nothing",
        "host=/nonexistent-taskdispatch-socket password=secret123 secret123",
        "host=/nonexistent-taskdispatch-socket password='secret123",
        "postgresql://someone:secret123@/nothing?host=/nonexistent-taskdispatch-socket",
        "postgresql://someone:secret123@/nothing?host=/nonexistent-taskdispatch-socket&unknown=secret123",
    ])
    func unreachableServerIsUnavailableWithoutLeakingThePassword(_ connectionString: String) throws {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConnection(connectionString: connectionString, logger: quietLogger)
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isUnavailable == true)
        #expect(error?.message.isEmpty == false)
        #expect(error.map { !"\($0)".contains("secret123") } == true)
        #expect(error.map { !String(reflecting: $0).contains("secret123") } == true)
    }

    @Test func poolConfigurationDescriptionHidesThePassword() {
        let configuration = PostgresPoolConfiguration(connectionString: "host=/run user=u password=secret123 dbname=d")
        #expect(!"\(configuration)".contains("secret123"))
        #expect(!String(reflecting: configuration).contains("secret123"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("secret123"))
        #expect(dumped.contains("maxConnections"))
    }

    @Test func unavailableClassification() {
        #expect(PostgresError(kind: .server, sqlState: SQLState(rawValue: "08006"), message: "").isUnavailable)
        #expect(PostgresError(kind: .server, sqlState: .adminShutdown, message: "").isUnavailable)
        #expect(PostgresError(kind: .server, sqlState: .cannotConnectNow, message: "").isUnavailable)
        #expect(!PostgresError(kind: .server, sqlState: .queryCanceled, message: "").isUnavailable)
        #expect(!PostgresError(kind: .unexpectedResult, message: "").isUnavailable)
        #expect(PostgresError(kind: .poolTimeout, message: "").isUnavailable)
    }
}
