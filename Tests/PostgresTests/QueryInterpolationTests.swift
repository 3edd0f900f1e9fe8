import Postgres
import TaskDispatchTesting
import Testing

/// `PostgresQuery`: values named where the SQL uses them, sent as bound parameters.
@Suite struct QueryInterpolationTests {
    /// One call site, as store code writes it.
    private static func taskLookup(id: Int64, types: [String]) -> PostgresQuery {
        "SELECT id FROM tasks WHERE id = \(bind: id) AND type = ANY(\(bind: types))"
    }

    @Test func interpolationNumbersPlaceholdersAndKeepsValuesInOrder() {
        let note: String? = nil
        let query: PostgresQuery = "UPDATE t SET note = \(bind: note), flag = \(bind: true) WHERE id = \(bind: Int64(7)) AND name = \(bind: "it's")"
        #expect(query.sql == "UPDATE t SET note = $1, flag = $2 WHERE id = $3 AND name = $4")
        #expect(query.parameters == [.null, .text("t"), .text("7"), .text("it's")])
    }

    @Test func sameCallSiteGivesTheSameTextForDifferentValues() {
        let first = Self.taskLookup(id: 1, types: ["a"])
        let second = Self.taskLookup(id: 99, types: ["b", "c", "d"])
        #expect(first.sql == "SELECT id FROM tasks WHERE id = $1 AND type = ANY($2)")
        #expect(second.sql == first.sql)
        #expect(first.parameters == [.text("1"), .text(#"{"a"}"#)])
        #expect(second.parameters == [.text("99"), .text(#"{"b","c","d"}"#)])
    }

    @Test func aValueBoundTwiceIsTwoParameters() {
        let id: Int64 = 5
        let query: PostgresQuery = "SELECT \(bind: id) = \(bind: id)"
        #expect(query.sql == "SELECT $1 = $2")
        #expect(query.parameters == [.text("5"), .text("5")])
    }

    @Test func unescapedTextIsPastedAndFragmentsAreRenumbered() {
        let columns = "id, name"
        let owner: PostgresQuery = "(user_id = \(bind: "alice") OR app_id = \(bind: "ocr"))"
        let query: PostgresQuery = "SELECT \(unescaped: columns) FROM t WHERE id = \(bind: 3) AND \(fragment: owner) AND n < \(bind: 10)"
        #expect(query.sql == "SELECT id, name FROM t WHERE id = $1 AND (user_id = $2 OR app_id = $3) AND n < $4")
        #expect(query.parameters == [.text("3"), .text("alice"), .text("ocr"), .text("10")])
        #expect(owner.sql == "(user_id = $1 OR app_id = $2)")
    }

    @Test func literalWithoutValuesIsItsText() {
        let query: PostgresQuery = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.parameters.isEmpty)
    }

    @Test func bytesAreBoundAsBinaryByteaAndEverythingElseAsText() {
        let query: PostgresQuery = "INSERT INTO f VALUES (\(bind: [UInt8](arrayLiteral: 0, 1, 255)), \(bind: 2.5), \(bind: [Int64](arrayLiteral: 1, 2)))"
        #expect(query.parameters == [.bytea([0, 1, 255]), .text("2.5"), .text("{\"1\",\"2\"}")])
    }

    @Test func boundValuesReachTheServerAsValues() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "interp_values")
            for value in BindingTests.awkwardStrings + ["it's'); SELECT 1; --"] {
                let row = try connection.query("SELECT \(bind: value)::text AS value, \(bind: Int64(41)) + 1 AS answer")[0]
                #expect(row.string("value") == value)
                #expect(row.int64("answer") == 42)
            }
            let none: Int64? = nil
            #expect(try connection.query("SELECT \(bind: none)::int8 IS NULL AS missing")[0].bool("missing") == true)
            let types = ["a", "b"]
            #expect(try connection.query("SELECT \(bind: "b") = ANY(\(bind: types)::text[]) AS found")[0].bool("found") == true)
        }
    }

    @Test func textContainingNULIsRefusedBeforeItIsSent() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "interp_nul")
            let error = #expect(throws: PostgresError.self) {
                try connection.query("SELECT \(bind: "a\u{0}b")::text AS value")
            }
            #expect(error?.sqlState == .characterNotInRepertoire)
            #expect(try connection.query("SELECT \(bind: "still fine")::text AS value")[0].string("value") == "still fine")
        }
    }

    @Test func oneCallSiteWithDifferentValuesReusesOnePreparedStatement() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "interp_prepared")
            try connection.execute("CREATE TABLE tasks (id int8, type text)")
            try connection.execute("INSERT INTO tasks VALUES (1, 'a'), (2, 'b')")
            #expect(try connection.query(Self.taskLookup(id: 1, types: ["a"])).rows.map { $0.int64("id") } == [1])
            #expect(try connection.query(Self.taskLookup(id: 2, types: ["x", "b"])).rows.map { $0.int64("id") } == [2])

            let sql = Self.taskLookup(id: 0, types: []).sql
            let statements = try connection.query(
                "SELECT count(*) AS statements, sum(generic_plans + custom_plans) AS executions FROM pg_prepared_statements WHERE statement = \(bind: sql)"
            )[0]
            #expect(statements.int("statements") == 1)
            #expect(statements.int("executions") == 2)
        }
    }

    @Test func executeReportsAffectedRows() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "interp_execute")
            // A plain literal still goes through the simple protocol, which runs several statements.
            try connection.execute("CREATE TABLE item (id int8, label text); CREATE INDEX ON item (id)")
            for id in Int64(1)...3 {
                try connection.execute("INSERT INTO item VALUES (\(bind: id), \(bind: "label \(id)"))")
            }
            #expect(try connection.execute("UPDATE item SET label = \(bind: "new") WHERE id >= \(bind: Int64(2))") == 2)
            let labels = try connection.query("SELECT label FROM item ORDER BY id").rows.map { $0.string("label") }
            #expect(labels == ["label 1", "new", "new"])
        }
    }

    @Test func poolConnectionsAndTransactionsTakeQueries() async throws {
        try await onOwnThread {
            let pool = PostgresConnectionPool(
                configuration: PostgresPoolConfiguration(connectionString: try TestDatabase.create(prefix: "interp_pool"), maxConnections: 2),
                logger: quietLogger)
            defer { pool.close() }
            try pool.withConnection { try $0.execute("CREATE TABLE item (id int8, data bytea)") }
            let payload: [UInt8] = [0, 1, 2, 0, 255]
            let inserted = try pool.withConnection { connection in
                try connection.transaction { transaction in
                    try transaction.execute("INSERT INTO item VALUES (\(bind: Int64(1)), \(bind: payload))")
                }
            }
            #expect(inserted == 1)
            let row = try pool.withConnection { connection in
                try connection.query("SELECT id, data FROM item WHERE id = \(bind: Int64(1))", resultFormat: .binary)[0]
            }
            #expect(row.int64("id") == 1)
            #expect(row.bytes("data") == payload)
        }
    }
}
